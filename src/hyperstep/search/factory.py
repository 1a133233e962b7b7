"""``make_search``: the one way the engine, the benchmarks and the tests build a search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hyperstep.errors import ValidationError
from hyperstep.model import TaskType
from hyperstep.search.base import Search
from hyperstep.search.bayesian import DEFAULT_STARTUP, BayesianSearch
from hyperstep.search.engine_base import DEFAULT_ENGINE, get_engine
from hyperstep.search.grid_search import GridSearch
from hyperstep.search.manual_search import ManualSearch
from hyperstep.search.random_search import RandomSearch
from hyperstep.space import Space


def make_search(
    kind: TaskType | str,
    space: Space,
    *,
    engine: str | None = DEFAULT_ENGINE,
    seed: int = 0,
    startup: int = DEFAULT_STARTUP,
    execution_count: int | None = None,
    parameter_sets: Sequence[Mapping[str, Any]] | None = None,
    grid_points: Sequence[Mapping[str, Any]] | None = None,
) -> Search:
    """The search of a task of type ``kind`` over ``space``.

    ``kind`` is a :class:`~hyperstep.model.TaskType` or its lenient spelling
    (``"Bayesian-TPE"``). ``engine`` (Bayesian only; ``None`` means the default) is resolved
    here, so a missing optional library is reported when the task is created, not halfway.

    >>> from hyperstep.space import Integer, Space
    >>> search = make_search("grid-search", Space({"units": Integer(16, 64, step=16)}))
    >>> search.total, search.point(1)
    (4, {'units': 32})

    Raises:
        ValidationError: an unknown type or engine, or a setting the type needs is missing or
            invalid (the field is named: ``type``, ``engine``, ``execution_count``,
            ``parameter_sets``, ``grid_points``, ``seed``, ``startup``).
        SpaceError: a grid over a continuous parameter.
        EngineUnavailable: the engine's library is not installed (names the extra).
    """
    task_type = _task_type(kind)
    if task_type is TaskType.GRID_SEARCH:
        return GridSearch(space, grid_points)
    if task_type is TaskType.MANUAL_SEARCH:
        return ManualSearch(parameter_sets)
    if task_type is TaskType.RANDOM_SEARCH:
        return RandomSearch(space, seed=seed, execution_count=execution_count)
    return BayesianSearch(
        space,
        get_engine(engine if engine is not None else DEFAULT_ENGINE),
        seed=seed,
        startup=startup,
        execution_count=execution_count,
    )


def _task_type(kind: TaskType | str) -> TaskType:
    if isinstance(kind, TaskType):
        return kind
    if not isinstance(kind, str):
        raise ValidationError(f"must be a task type name, not {kind!r}", field="type")
    try:
        return TaskType.parse(kind)
    except ValueError as exc:
        raise ValidationError(str(exc), field="type") from None


__all__ = ["make_search"]
