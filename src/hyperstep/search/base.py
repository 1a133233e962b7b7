"""What every search offers the engine, and the shared logic of the searches with a fixed list.

A search is rebuilt from the store after every restart, so it holds no state of its own that
matters: :meth:`Search.propose` is a function of the history and the pending points, and
:meth:`Search.point` of the index. Caches inside a search only save recomputation.

Grid, manual and random searches have a list of points fixed in advance (their ``i``-th
point never changes); :class:`ListedSearch` proposes the first points of that list that have
not been run yet. "Not run yet" is decided by content, not by counting, so a history that
comes back in another order, or with a point missing, still gives the right answer.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from hyperstep.model import TaskType
from hyperstep.search.engine_base import History, Pending
from hyperstep.search.points import PointKey, SeenPoints, point_key


class Search(abc.ABC):
    """Proposes the parameters of a task's next executions."""

    #: The task type this search implements.
    kind: TaskType

    @property
    @abc.abstractmethod
    def total(self) -> int | None:
        """How many points this search proposes in all; ``None`` when it has no end."""

    @abc.abstractmethod
    def point(self, index: int) -> dict[str, Any] | None:
        """The ``index``-th point fixed in advance; ``None`` past the end or when the point
        depends on results (a Bayesian point after the start-up)."""

    @abc.abstractmethod
    def propose(self, history: History, n: int, *, pending: Pending = ()) -> list[dict[str, Any]]:
        """Up to ``n`` new points, none equal to a point of ``history`` or ``pending``.

        ``history`` holds the finished executions ``(parameters, value)`` (value minimised,
        ``None`` for a failure) and ``pending`` the parameters of those still running. Fewer
        than ``n`` points (possibly none) means the search is exhausted.
        """

    @property
    def is_random_only(self) -> bool:
        """True when no point depends on results (every search but a long Bayesian one)."""
        return True


def check_count(n: Any, what: str = "n") -> int:
    """``n`` as a non-negative int (a programming error otherwise)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{what} must be a non-negative integer, not {n!r}")
    return n


class ListedSearch(Search):
    """A search whose ``i``-th point is fixed in advance (grid, manual, random)."""

    def __init__(self, names: Sequence[str]) -> None:
        self._names = list(names)
        self._keys: list[PointKey] = []

    @property
    def names(self) -> list[str]:
        """The parameter names that tell two points apart."""
        return list(self._names)

    def _key_at(self, index: int) -> PointKey | None:
        while len(self._keys) <= index:
            point = self.point(len(self._keys))
            if point is None:
                return None
            self._keys.append(point_key(self._names, point))
        return self._keys[index]

    def propose(self, history: History, n: int, *, pending: Pending = ()) -> list[dict[str, Any]]:
        wanted = check_count(n)
        seen = SeenPoints(self._names, [params for params, _ in history])
        for params in pending:
            seen.add(params)
        proposals: list[dict[str, Any]] = []
        index = 0
        while len(proposals) < wanted:
            key = self._key_at(index)
            if key is None:
                break
            # Each point of the list matches (and uses up) one execution with its parameters,
            # so a manual search that lists a set twice runs it twice.
            if not seen.consume_key(key):
                point = self.point(index)
                if point is not None:
                    proposals.append(point)
            index += 1
        return proposals


__all__ = ["ListedSearch", "Search", "check_count"]
