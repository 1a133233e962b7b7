"""Grid search: every point of the Cartesian product, each exactly once.

The points come in :meth:`Space.grid` order (the last parameter varies fastest), or from an
explicit list when the task's variant rules produced value lists that are not a distribution
(a ``random`` style with ``count`` draws, for instance). Either way a point that repeats an
earlier one is dropped, so the grid never runs a point twice.

The points are produced lazily: a grid of a million points costs nothing until it runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from hyperstep.errors import ValidationError
from hyperstep.model import TaskType
from hyperstep.search.base import ListedSearch
from hyperstep.search.points import PointKey, plain_point, point_key, value_key
from hyperstep.space import Space


class GridSearch(ListedSearch):
    """The grid of ``space``, or the explicit ``grid_points``."""

    kind = TaskType.GRID_SEARCH

    def __init__(
        self, space: Space, grid_points: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        if grid_points is not None:
            points = _check_points(grid_points)
            names = _names_of(space, points)
            self._source: Iterator[dict[str, Any]] = iter(points)
        else:
            names = space.names
            self._source = space.grid()
        super().__init__(names)
        self._points: list[dict[str, Any]] = []
        self._produced: set[PointKey] = set()
        # The first point surfaces a continuous parameter now (a SpaceError naming it), not
        # at the first proposal.
        self._pull(0)
        if grid_points is not None:
            self._total = len({point_key(names, point) for point in points})
        else:
            self._total = _distinct_size(space)

    @property
    def total(self) -> int:
        return self._total

    def point(self, index: int) -> dict[str, Any] | None:
        if index < 0:
            return None
        self._pull(index)
        return dict(self._points[index]) if index < len(self._points) else None

    def _pull(self, index: int) -> None:
        while len(self._points) <= index:
            point = next(self._source, None)
            if point is None:
                return
            key = point_key(self._names, point)
            if key not in self._produced:
                self._produced.add(key)
                self._points.append(plain_point(point))


def _check_points(points: Any) -> list[dict[str, Any]]:
    if isinstance(points, (str, bytes, Mapping)) or not isinstance(points, Sequence):
        raise ValidationError("must be a list of parameter dicts", field="grid_points")
    for index, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise ValidationError(
                f"must be a dict of parameter values, not {type(point).__name__}",
                field=f"grid_points[{index}]",
            )
    return [dict(point) for point in points]


def _names_of(space: Space, points: Sequence[Mapping[str, Any]]) -> list[str]:
    """The space's names first, then any other name the points use, in order of appearance."""
    names = list(space.names)
    for point in points:
        names.extend(name for name in point if name not in names)
    return names


def _distinct_size(space: Space) -> int:
    # A categorical may list a choice twice; the grid runs it once, so count distinct values.
    sizes = []
    for dist in space.values():
        values = dist.values()
        sizes.append(len({value_key(v) for v in values}) if values is not None else 0)
    return math.prod(sizes)


__all__ = ["GridSearch"]
