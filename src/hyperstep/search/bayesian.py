"""Bayesian search (``bayesian_tpe``): random start-up points, then an engine's proposals.

Valohai runs the first 20 executions as a random search to seed the model; with fewer than
that in all, the whole task is a random search (:attr:`BayesianSearch.is_random_only`).
Afterwards each batch comes from an engine (Optuna's TPE by default), which sees every
finished execution and the points still pending, so a batch's points are kept apart.

The search, not the engine, guarantees what the task relies on, whatever the engine does:

* every proposal is a point of the space (inside the bounds, on the Q.Step lattice);
* no proposal repeats a point already run or pending, nor another point of the same batch;
  in a finite space that is used up, :meth:`BayesianSearch.propose` returns fewer points;
* a failed execution (value ``None``, or a value that is not a finite number) reaches the
  engine as a failure, never as a made-up value;
* the same ``(seed, history, pending)`` gives the same batch, so a restart proposes again
  what it would have proposed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from hyperstep.errors import ValidationError
from hyperstep.model import TaskType
from hyperstep.search.base import Search, check_count
from hyperstep.search.dimensions import dimensions
from hyperstep.search.engine_base import BayesEngine, History, Pending
from hyperstep.search.points import (
    SeenPoints,
    check_seed,
    derived_seed,
    generator,
    plain_point,
    unseen_random_point,
)
from hyperstep.search.random_search import RandomSearch, check_execution_count
from hyperstep.space import Space

#: Valohai's number of random start-up executions.
DEFAULT_STARTUP = 20

# Tags that keep the random streams of one seed apart (``SeedSequence`` entropy words).
_ENGINE_STREAM = 0xE5
_FILL_STREAM = 0xF1


class BayesianSearch(Search):
    """Start-up random points, then ``engine`` proposals, for at most ``execution_count``."""

    kind = TaskType.BAYESIAN_TPE

    def __init__(
        self,
        space: Space,
        engine: BayesEngine,
        *,
        seed: int = 0,
        startup: int = DEFAULT_STARTUP,
        execution_count: int | None = None,
    ) -> None:
        if isinstance(startup, bool) or not isinstance(startup, int) or startup < 0:
            raise ValidationError(
                f"must be a non-negative integer, not {startup!r}", field="startup"
            )
        self._space = space
        self._engine = engine
        self._seed = check_seed(seed)
        self._count = check_execution_count(execution_count, required=False)
        size = space.size
        limits = [n for n in (self._count, size) if n is not None]
        self._total = min(limits) if limits else None
        self._startup = startup if self._total is None else min(startup, self._total)
        # The start-up points are exactly a random search's, so ``point(i)`` is shared.
        self._random = RandomSearch(space, seed=self._seed, execution_count=self._startup)

    @property
    def engine(self) -> BayesEngine:
        return self._engine

    @property
    def startup(self) -> int:
        """How many of the first points are random start-up points."""
        return self._startup

    @property
    def total(self) -> int | None:
        return self._total

    @property
    def is_random_only(self) -> bool:
        """True when every point is a start-up point (``execution_count <= startup``)."""
        return self._total is not None and self._total <= self._startup

    def point(self, index: int) -> dict[str, Any] | None:
        """The ``index``-th start-up point; ``None`` after the start-up (it depends on results)."""
        return self._random.point(index) if index < self._startup else None

    def propose(self, history: History, n: int, *, pending: Pending = ()) -> list[dict[str, Any]]:
        wanted = check_count(n)
        issued = len(history) + len(pending)
        if self._total is not None:
            wanted = min(wanted, max(0, self._total - issued))
        if wanted == 0:
            return []
        # Start-up points are matched by content, like a random search's: each finished or
        # pending execution uses up the start-up point it equals.
        unmatched = SeenPoints(self._space.names, [params for params, _ in history])
        for params in pending:
            unmatched.add(params)
        proposals: list[dict[str, Any]] = []
        startup_wanted = min(wanted, max(0, self._startup - issued))
        for index in range(self._startup):
            if len(proposals) == startup_wanted:
                break
            point = self._random.point(index)
            if point is not None and not unmatched.consume_key(unmatched.key(point)):
                proposals.append(point)
        if len(proposals) < wanted:
            proposals += self._engine_points(history, pending, proposals, wanted - len(proposals))
        return proposals

    def _engine_points(
        self,
        history: History,
        pending: Pending,
        batch: list[dict[str, Any]],
        wanted: int,
    ) -> list[dict[str, Any]]:
        space = self._space
        names = space.names
        finished = [
            (inside, _clean_value(value))
            for params, value in history
            if (inside := _restrict(space, params)) is not None
        ]
        running = [
            inside
            for params in [*pending, *batch]
            if (inside := _restrict(space, params)) is not None
        ]
        seed = derived_seed(self._seed, _ENGINE_STREAM, len(history), len(pending))
        suggested = self._engine.suggest(space, finished, wanted, running, seed)

        seen = SeenPoints(names, [params for params, _ in history])
        for params in [*pending, *batch]:
            seen.add(params)
        fill = generator(self._seed, _FILL_STREAM, len(history), len(pending))
        points: list[dict[str, Any]] = []
        for index in range(wanted):
            point = _usable(space, suggested[index] if index < len(suggested) else None, seen)
            if point is None:
                # Outside the space, a repeat, or missing: an unseen random point instead.
                point = unseen_random_point(space, seen, fill)
                if point is None:
                    break  # a finite space with every point run or pending
            seen.add(point)
            points.append(point)
        return points


def _restrict(space: Space, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """``params`` over the space's names if it is a point of the space, else ``None``."""
    if not all(name in params for name in space):
        return None
    point = plain_point({name: params[name] for name in space})
    return point if space.contains(point) else None


def _clean_value(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _usable(space: Space, point: Any, seen: SeenPoints) -> dict[str, Any] | None:
    """An engine's ``point`` as an exact point of the space, or ``None`` if it cannot run."""
    if not isinstance(point, Mapping):
        return None
    candidate = _restrict(space, point)
    if candidate is None:
        return None
    # Within float noise of a lattice point is on it: report the lattice's own float
    # (0.35, not 0.35000000000000003), the one a grid over the same rules would give.
    for dim in dimensions(space):
        raw = dim.encode(candidate[dim.name])
        if raw is not None:
            candidate[dim.name] = dim.decode(raw)
    return None if candidate in seen else candidate


__all__ = ["DEFAULT_STARTUP", "BayesianSearch"]
