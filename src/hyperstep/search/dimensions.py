"""The dimensions of a space as an optimisation library sees them.

Optuna and Hyperopt each have their own way to say "a float on a log scale" or "one of these
choices", and neither knows Valohai's Q.Step lattice ``low + k·step``. This module translates
each :class:`~hyperstep.space.Distribution` once into one of four engine-neutral kinds, with
``encode`` (a value of the space → the number the library models) and ``decode`` (the
library's number → a value the space contains), so both engines share one set of rules:

=========  =====================================================  ==========================
kind       used for                                               the library models
=========  =====================================================  ==========================
float      Uniform, LogUniform (``log``), stepped LogUniform      the value, in ``[low, high]``
int_log    Integer with ``log=True``                              the integer, on a log scale
lattice    stepped Uniform, Integer, ordered Categorical          the index ``k`` of the point
choice     Categorical                                            the index of the choice
fixed      Fixed and every one-value distribution                 nothing (never asked)
=========  =====================================================  ==========================

A stepped :class:`~hyperstep.space.LogUniform` is modelled as a continuous log-scale float and
the proposal is then rounded to the nearest lattice point, exactly as the distribution's own
``sample`` rounds a log-uniform draw. Optuna refuses ``log`` together with ``step``, and a
categorical of the lattice values would throw away their order and scale; this keeps both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from hyperstep.space import (
    Categorical,
    Distribution,
    Fixed,
    Integer,
    LogUniform,
    Space,
    Uniform,
)

Kind = Literal["float", "int_log", "lattice", "choice", "fixed"]


def nth_value(dist: Distribution, index: int) -> Any:
    """The ``index``-th value of a finite distribution, in the order of ``dist.values()``.

    Computed directly, so an ``Integer(0, 10**9)`` never builds its list of values.
    """
    if isinstance(dist, Fixed):
        return dist.value
    if isinstance(dist, Categorical):
        return dist.choices[index]
    if isinstance(dist, Integer):
        return dist.low + index * dist.step
    if isinstance(dist, (Uniform, LogUniform)):
        if dist.step is None:
            return float(dist.low)
        return lattice_point(dist.low, dist.step, index)
    values = dist.values()
    if values is None:
        raise ValueError(f"{dist} has no finite list of values")
    return values[index]


def lattice_point(low: float, step: float, index: int) -> float:
    """``low + index·step`` computed in decimal and rounded once (``0 + 7×0.05`` is ``0.35``).

    This is the arithmetic the space uses for its own lattices, so a decoded proposal is the
    very float a grid or a random draw over the same rules would give.
    """
    exact = _decimal(low) + Decimal(index) * _decimal(step)
    return float(exact)


def _decimal(value: float) -> Decimal:
    return Decimal(repr(float(value))) if isinstance(value, float) else Decimal(int(value))


def point_at(space: Space, index: int) -> dict[str, Any]:
    """The ``index``-th point of the finite ``space`` in :meth:`Space.grid` order.

    The last parameter varies fastest, as in the grid; nothing is enumerated.
    """
    point: dict[str, Any] = {}
    for name in reversed(space.names):
        dist = space[name]
        size = dist.size
        if size is None:
            raise ValueError(f"parameter {name!r} is continuous")
        index, digit = divmod(index, size)
        point[name] = nth_value(dist, digit)
    return {name: point[name] for name in space.names}


@dataclass(frozen=True)
class Dimension:
    """One parameter of a space, as an engine models it (see the module docstring)."""

    name: str
    dist: Distribution
    kind: Kind
    #: ``float``/``int_log``: the real bounds. ``lattice``/``choice``: ``0`` and ``size - 1``.
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    #: ``lattice``/``choice``: the number of values.
    size: int = 1
    _fixed: Any = field(default=None, repr=False)

    def decode(self, raw: Any) -> Any:
        """The value of the space closest to the library's number ``raw``."""
        if self.kind == "fixed":
            return self._fixed
        if self.kind in ("lattice", "choice"):
            return nth_value(self.dist, _clip_index(raw, self.size))
        number = min(max(float(raw), self.low), self.high)
        if self.kind == "int_log":
            return min(max(round(number), int(self.low)), int(self.high))
        dist = self.dist
        if isinstance(dist, (Uniform, LogUniform)) and dist.step is not None:
            size = dist.size or 1
            return lattice_point(
                dist.low, dist.step, _clip_index((number - dist.low) / dist.step, size)
            )
        return number

    def encode(self, value: Any) -> float | int | None:
        """The library's number for ``value``; ``None`` when the space does not contain it."""
        if self.kind == "fixed" or not self.dist.contains(value):
            return None
        if isinstance(self.dist, Categorical):
            return _choice_index(self.dist, value)
        if self.kind == "lattice":
            low, step = _lattice(self.dist)
            return _clip_index((float(value) - low) / step, self.size)
        if self.kind == "int_log":
            return int(value)
        return min(max(float(value), self.low), self.high)


def dimension(name: str, dist: Distribution) -> Dimension:
    """How an engine should model ``dist`` (the table in the module docstring)."""
    if dist.size == 1:
        return Dimension(name, dist, "fixed", _fixed=nth_value(dist, 0))
    if isinstance(dist, Categorical):
        kind: Kind = "lattice" if dist.ordered else "choice"
        return Dimension(name, dist, kind, high=dist.size - 1, size=dist.size)
    if isinstance(dist, Integer):
        if dist.log:
            return Dimension(name, dist, "int_log", low=dist.low, high=dist.high, log=True)
        return Dimension(name, dist, "lattice", high=dist.size - 1, size=dist.size)
    if isinstance(dist, Uniform) and dist.step is not None:
        size = dist.size or 1
        return Dimension(name, dist, "lattice", high=size - 1, size=size)
    if isinstance(dist, (Uniform, LogUniform)):
        return Dimension(
            name, dist, "float", low=dist.low, high=dist.high, log=isinstance(dist, LogUniform)
        )
    raise TypeError(f"no engine model for {type(dist).__name__} (parameter {name!r})")


def dimensions(space: Space) -> list[Dimension]:
    """Every parameter of ``space`` as a :class:`Dimension`, in order."""
    return [dimension(name, dist) for name, dist in space.items()]


def encode_point(dims: list[Dimension], point: dict[str, Any]) -> dict[str, float | int] | None:
    """The library's numbers for the free parameters of ``point``; ``None`` if one is outside."""
    raw: dict[str, float | int] = {}
    for dim in dims:
        if dim.kind == "fixed":
            continue
        if dim.name not in point:
            return None
        number = dim.encode(point[dim.name])
        if number is None:
            return None
        raw[dim.name] = number
    return raw


def decode_point(dims: list[Dimension], raw: dict[str, Any]) -> dict[str, Any]:
    """A point of the space from the library's numbers (fixed parameters filled in)."""
    return {dim.name: dim.decode(raw.get(dim.name, 0)) for dim in dims}


def _lattice(dist: Distribution) -> tuple[float, float]:
    if isinstance(dist, (Uniform, Integer)) and dist.step is not None:
        return dist.low, dist.step
    raise TypeError(f"{dist} is not a lattice")


def _clip_index(raw: Any, size: int) -> int:
    number = float(raw)
    if not math.isfinite(number):
        return 0 if number < 0 else size - 1
    return min(max(round(number), 0), size - 1)


def _choice_index(dist: Categorical, value: Any) -> int | None:
    for index, choice in enumerate(dist.choices):
        if _same(choice, value):
            return index
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return bool(a == b) or math.isclose(a, b, rel_tol=1e-12)
    return type(a) is type(b) and bool(a == b)


__all__ = [
    "Dimension",
    "Kind",
    "decode_point",
    "dimension",
    "dimensions",
    "encode_point",
    "lattice_point",
    "nth_value",
    "point_at",
]
