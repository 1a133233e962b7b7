"""The ``optuna`` engine: Optuna's TPE, Valohai's default Bayesian engine.

Each call rebuilds an in-memory study from the history, so nothing survives between calls
and a restart loses nothing: finished executions become ``COMPLETE`` trials, failed ones
``FAIL`` trials (which TPE leaves out, rather than giving them an invented value), and
pending points ``RUNNING`` trials. The sampler is a plain ``TPESampler(seed=…,
constant_liar=True)``, Optuna's defaults otherwise (as Valohai runs it): the constant liar
treats running trials as bad results, which keeps the ``n`` points asked in a row apart
from each other and from the running ones.

Parameters are given to Optuna through :mod:`hyperstep.search.dimensions`: a lattice or an
ordered choice as an ``IntDistribution`` over the point's index, a categorical as a
``CategoricalDistribution`` over the choice's index (so any choice type works), a log-scale
integer as ``IntDistribution(log=True)``, a float as ``FloatDistribution`` (``log=True`` for
a log-uniform, whose stepped form is rounded to its lattice afterwards).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from hyperstep.errors import EngineUnavailable
from hyperstep.search.dimensions import Dimension, decode_point, dimensions, encode_point
from hyperstep.search.engine_base import History, Pending, register_engine
from hyperstep.space import Space

if TYPE_CHECKING:
    from optuna import Study
    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler

#: Optuna logs "A new study created in memory" at INFO for every study; ours are throwaway.
_STORAGE_LOGGER = "optuna.storages._in_memory"


class OptunaEngine:
    """Optuna's TPE with constant liar over a study rebuilt from the history."""

    name = "optuna"

    def __init__(self) -> None:
        try:
            import optuna  # noqa: F401
        except ImportError:
            raise EngineUnavailable(
                "the 'optuna' engine needs Optuna: pip install 'hyperstep' (Optuna is a core"
                " dependency)"
            ) from None

    def suggest(
        self,
        space: Space,
        history: History,
        n: int,
        pending: Pending,
        seed: int,
    ) -> list[dict[str, Any]]:
        import optuna
        from optuna.trial import TrialState, create_trial

        dims = dimensions(space)
        distributions = {dim.name: _distribution(dim) for dim in dims if dim.kind != "fixed"}
        if not distributions:
            return [decode_point(dims, {})][:n]

        study = _new_study(optuna.samplers.TPESampler(seed=seed, constant_liar=True))
        for params, value in history:
            raw = encode_point(dims, params)
            if raw is None:
                continue
            if value is None:
                trial = create_trial(state=TrialState.FAIL, params=raw, distributions=distributions)
            else:
                trial = create_trial(value=value, params=raw, distributions=distributions)
            study.add_trial(trial)
        for params in pending:
            raw = encode_point(dims, params)
            if raw is not None:
                study.add_trial(
                    create_trial(state=TrialState.RUNNING, params=raw, distributions=distributions)
                )
        # Each asked trial stays RUNNING, so the constant liar keeps the next one away from it.
        return [decode_point(dims, study.ask(distributions).params) for _ in range(n)]


def _distribution(dim: Dimension) -> BaseDistribution:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if dim.kind == "float":
        return FloatDistribution(dim.low, dim.high, log=dim.log)
    if dim.kind == "int_log":
        return IntDistribution(int(dim.low), int(dim.high), log=True)
    if dim.kind == "lattice":
        return IntDistribution(0, dim.size - 1)
    return CategoricalDistribution(list(range(dim.size)))


def _new_study(sampler: BaseSampler) -> Study:
    import optuna
    from optuna.study import StudyDirection

    storage = optuna.storages.InMemoryStorage()
    with _quiet(_STORAGE_LOGGER):
        storage.create_new_study(directions=[StudyDirection.MINIMIZE], study_name="hyperstep")
    return optuna.Study(study_name="hyperstep", storage=storage, sampler=sampler)


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


register_engine(OptunaEngine.name, OptunaEngine)

__all__ = ["OptunaEngine"]
