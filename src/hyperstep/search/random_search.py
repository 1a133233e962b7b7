"""Random search: ``execution_count`` independent draws from the space.

The ``i``-th point is a function of ``(seed, i)`` only (a generator seeded with
``SeedSequence([seed, i])``), so a restarted task proposes the same points without replaying
anything. In a finite space a draw that repeats an earlier point is drawn again, so no point
runs twice until the space is used up; the task then ends early (``total`` is the smaller of
``execution_count`` and the number of points).
"""

from __future__ import annotations

from typing import Any

from hyperstep.errors import ValidationError
from hyperstep.model import TaskType
from hyperstep.search.base import ListedSearch
from hyperstep.search.points import (
    RANDOM_ATTEMPTS,
    SeenPoints,
    check_seed,
    generator,
    random_point,
    unseen_random_point,
)
from hyperstep.space import Space


def check_execution_count(count: Any, *, required: bool) -> int | None:
    """``count`` as a non-negative int (``None`` allowed unless ``required``)."""
    if count is None:
        if required:
            raise ValidationError(
                "a random search needs an execution count", field="execution_count"
            )
        return None
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValidationError(
            f"must be a non-negative integer, not {count!r}", field="execution_count"
        )
    return count


class RandomSearch(ListedSearch):
    """``execution_count`` random points of ``space`` for ``seed``."""

    kind = TaskType.RANDOM_SEARCH

    def __init__(self, space: Space, *, seed: int = 0, execution_count: int | None) -> None:
        super().__init__(space.names)
        self._space = space
        self._seed = check_seed(seed)
        count = check_execution_count(execution_count, required=True) or 0
        size = space.size
        self._total = count if size is None else min(count, size)
        self._finite = size is not None
        # Finite spaces only: the points drawn so far, to redraw repeats.
        self._drawn: list[dict[str, Any]] = []
        self._seen = SeenPoints(space.names)

    @property
    def total(self) -> int:
        return self._total

    def point(self, index: int) -> dict[str, Any] | None:
        if not 0 <= index < self._total:
            return None
        if not self._finite:
            # A continuous dimension makes repeats a float accident: no bookkeeping needed.
            return random_point(self._space, self._seed, index)
        while len(self._drawn) <= index:
            self._drawn.append(self._draw_unseen(len(self._drawn)))
        return dict(self._drawn[index])

    def _draw_unseen(self, index: int) -> dict[str, Any]:
        for attempt in range(RANDOM_ATTEMPTS):
            point = random_point(self._space, self._seed, index, attempt)
            if point not in self._seen:
                break
        else:
            # Nearly used up: walk the space from a seeded random start instead.
            found = unseen_random_point(
                self._space, self._seen, generator(self._seed, index, RANDOM_ATTEMPTS)
            )
            # ``total`` never exceeds the size of the space, so an unseen point exists.
            assert found is not None
            point = found
        self._seen.add(point)
        return point


__all__ = ["RandomSearch", "check_execution_count"]
