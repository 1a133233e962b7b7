"""Searches: which parameters a task's next executions run with.

A search gets the history from the engine and returns proposals; it never touches the store,
so a restarted engine rebuilds it and gets the same answers::

    from hyperstep.space import Space, LogUniform, Integer, Categorical, Uniform
    from hyperstep.search import make_search

    space = Space({"lr": LogUniform(-5, -1), "units": Integer(16, 128, step=16),
                   "act": Categorical(["relu", "tanh"]), "drop": Uniform(0, 0.5, step=0.05)})
    search = make_search("bayesian_tpe", space, engine="optuna", seed=0, startup=20,
                         execution_count=50)
    batch = search.propose(history, n=5)   # history: [(params, value or None), ...]

``value`` is what is minimised (see :func:`objective_value`); ``None`` marks a failure.
"""

from hyperstep.search.base import Search
from hyperstep.search.bayesian import DEFAULT_STARTUP, BayesianSearch
from hyperstep.search.engine_base import (
    DEFAULT_ENGINE,
    BayesEngine,
    History,
    Pending,
    engine_names,
    get_engine,
    register_engine,
)
from hyperstep.search.factory import make_search
from hyperstep.search.grid_search import GridSearch
from hyperstep.search.manual_search import ManualSearch
from hyperstep.search.objective import objective_value
from hyperstep.search.random_search import RandomSearch

__all__ = [
    "DEFAULT_ENGINE",
    "DEFAULT_STARTUP",
    "BayesEngine",
    "BayesianSearch",
    "GridSearch",
    "History",
    "ManualSearch",
    "Pending",
    "RandomSearch",
    "Search",
    "engine_names",
    "get_engine",
    "make_search",
    "objective_value",
    "register_engine",
]
