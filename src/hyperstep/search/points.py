"""Points of a space: comparing them, counting the ones already run, drawing fresh ones.

Every search must know whether a point "was already run": history comes back from the store
through JSON, so ``3`` may return as ``3.0`` and a computed float may carry noise in its last
bits. :func:`point_key` gives two points the same key exactly when a user would call them the
same point, which is what "never a point twice" means.

Random points are a function of ``(seed, index)`` alone (a fresh generator per index), so a
restarted engine proposes the same ``i``-th point without replaying the draws before it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from hyperstep.errors import ValidationError
from hyperstep.search.dimensions import point_at
from hyperstep.space import Space

#: How many fresh draws to try before falling back to walking the finite space for an unseen
#: point; a draw is cheap and rarely repeats unless the space is nearly used up.
RANDOM_ATTEMPTS = 32

#: Above this many points, the fall-back walk of a finite space samples indices instead.
WALK_LIMIT = 2_000_000

#: Keys hold floats to this many significant digits: enough to keep distinct lattice points
#: apart, few enough to absorb the noise of a JSON or arithmetic round-trip.
_KEY_DIGITS = 12

_MISSING = ("missing",)

PointKey = tuple[Any, ...]


def value_key(value: Any) -> Any:
    """A hashable stand-in for one parameter value; equal for values a user would call equal.

    ``True`` stays apart from ``1`` and ``"1"`` from ``1``; ``3`` equals ``3.0``.
    """
    value = plain_value(value)
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int):
        return ("n", value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ("n", repr(value))
        if value.is_integer():
            return ("n", int(value))
        return ("n", float(f"{value:.{_KEY_DIGITS}g}"))
    if isinstance(value, str):
        return ("s", value)
    return ("o", repr(value))


def point_key(names: Sequence[str], point: Mapping[str, Any]) -> PointKey:
    """The key of ``point`` over ``names`` (other keys of ``point`` are ignored)."""
    return tuple(value_key(point[name]) if name in point else _MISSING for name in names)


def plain_value(value: Any) -> Any:
    """``value`` as a plain Python scalar: numpy scalars become ``int``/``float``/``bool``."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def plain_point(point: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``point`` with plain Python values, ready for JSON, SQL and a command line."""
    return {name: plain_value(value) for name, value in point.items()}


def check_seed(seed: Any) -> int:
    """``seed`` as a non-negative int for :class:`numpy.random.SeedSequence`.

    Negative seeds are accepted and mapped to distinct non-negative ones (two's complement),
    so every int a user may type is a valid, reproducible seed.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValidationError(f"must be an integer, not {seed!r}", field="seed")
    value = int(seed)
    return value if value >= 0 else value & (2**64 - 1)


def generator(*entropy: int) -> np.random.Generator:
    """A generator determined by ``entropy`` alone (non-negative ints)."""
    return np.random.default_rng(np.random.SeedSequence(list(entropy)))


def derived_seed(*entropy: int) -> int:
    """A 32-bit seed for a library that takes one int, derived from ``entropy``."""
    state = np.random.SeedSequence(list(entropy)).generate_state(1, np.uint32)
    return int(state[0])


def random_point(space: Space, seed: int, index: int, attempt: int = 0) -> dict[str, Any]:
    """The ``index``-th random point of ``space`` for ``seed`` (``attempt`` > 0: a re-draw)."""
    rng = generator(seed, index) if attempt == 0 else generator(seed, index, attempt)
    return plain_point(space.sample(rng))


class SeenPoints:
    """The points already run or running, as a multiset of keys.

    A manual search may list the same parameter set twice and means two executions, so
    "already seen" is counted, not just remembered.
    """

    def __init__(self, names: Sequence[str], points: Iterable[Mapping[str, Any]] = ()) -> None:
        self.names = list(names)
        self._counts: dict[PointKey, int] = {}
        self._first: dict[PointKey, Mapping[str, Any]] = {}
        for point in points:
            self.add(point)

    def key(self, point: Mapping[str, Any]) -> PointKey:
        return point_key(self.names, point)

    def add(self, point: Mapping[str, Any]) -> None:
        key = self.key(point)
        self._counts[key] = self._counts.get(key, 0) + 1
        self._first.setdefault(key, point)

    def __contains__(self, point: object) -> bool:
        return isinstance(point, Mapping) and self._counts.get(self.key(point), 0) > 0

    def consume_key(self, key: PointKey) -> bool:
        """Remove one occurrence of ``key``; False when there was none."""
        count = self._counts.get(key, 0)
        if count == 0:
            return False
        self._counts[key] = count - 1
        return True

    def count_inside(self, space: Space) -> int:
        """How many distinct seen points are points of ``space``."""
        names = space.names
        inside = 0
        for key, count in self._counts.items():
            point = self._first[key]
            if count > 0 and all(name in point for name in names):
                inside += space.contains({name: point[name] for name in names})
        return inside


def unseen_random_point(
    space: Space, seen: SeenPoints, rng: np.random.Generator
) -> dict[str, Any] | None:
    """A random point of ``space`` not in ``seen``; ``None`` when every point has been seen.

    Fresh draws come first (they follow the space's own distributions). In a finite space
    that is nearly used up they would keep hitting seen points, so the fall-back walks the
    points from a random start, which always ends.
    """
    for _ in range(RANDOM_ATTEMPTS):
        point = plain_point(space.sample(rng))
        if point not in seen:
            return point
    size = space.size
    if size is None:
        # A continuous dimension makes a repeat an accident of float rounding: keep drawing.
        for _ in range(RANDOM_ATTEMPTS * 32):
            point = plain_point(space.sample(rng))
            if point not in seen:
                return point
        return None
    if seen.count_inside(space) >= size:
        return None
    if size <= WALK_LIMIT:
        start = int(rng.integers(0, size))
        for offset in range(size):
            point = point_at(space, (start + offset) % size)
            if point not in seen:
                return point
        return None
    for _ in range(RANDOM_ATTEMPTS * 32):
        point = point_at(space, int(rng.integers(0, size)))
        if point not in seen:
            return point
    return None


__all__ = [
    "RANDOM_ATTEMPTS",
    "PointKey",
    "SeenPoints",
    "check_seed",
    "derived_seed",
    "generator",
    "plain_point",
    "plain_value",
    "point_key",
    "random_point",
    "unseen_random_point",
    "value_key",
]
