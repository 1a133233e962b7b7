"""A sanity check that each Bayesian engine learns: it beats random search on a quadratic.

Not a benchmark (those live in benchmarks/): three seeds, 40 evaluations of a pure Python
function, Valohai's 20 random start-up points, batches of 5. A Bayesian search's start-up
points are the random search's points for the same seed, so the comparison is paired and
only the 20 model-based points can make the difference.
"""

from __future__ import annotations

import statistics

import pytest
from tests.search.search_support import ENGINE_PARAMS, run_task

from hyperstep.search import make_search
from hyperstep.space import Space, Uniform

SPACE = Space({"x": Uniform(-5, 5), "y": Uniform(-5, 5)})
SEEDS = (0, 1, 2)


def quadratic(point: dict[str, float]) -> float:
    return (point["x"] - 1.3) ** 2 + (point["y"] + 0.7) ** 2


def summary(kind: str, engine: str) -> tuple[float, float]:
    """Median over seeds of (best value, median value of the points after the start-up)."""
    best, after_startup = [], []
    for seed in SEEDS:
        search = make_search(kind, SPACE, engine=engine, seed=seed, startup=20, execution_count=40)
        values = [value for _, value in run_task(search, quadratic, batch=5)]
        assert len(values) == 40
        best.append(min(v for v in values if v is not None))
        after_startup.append(statistics.median(v for v in values[20:] if v is not None))
    return statistics.median(best), statistics.median(after_startup)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_bayesian_beats_random_search(engine: str) -> None:
    bayes_best, bayes_typical = summary("bayesian_tpe", engine)
    random_best, random_typical = summary("random_search", engine)
    # The model's points are better on the whole, not just one lucky draw...
    assert bayes_typical < 0.75 * random_typical
    # ...and so is the best point found.
    assert bayes_best < random_best
