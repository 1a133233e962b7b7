"""How the ``auto`` engine sees a search space: rows of numbers in the unit cube.

A Gaussian process needs points as vectors, and the acquisition search needs to draw, move and
round candidates cheaply and in bulk. Each parameter of a :class:`~hyperstep.space.Space` becomes
one *dimension* that owns one or more columns of the encoded matrix:

* continuous floats (``Uniform``, ``LogUniform`` without a step): one column in ``[0, 1]``,
  log-scaled for ``LogUniform`` so that ``1e-5 … 1e-4`` is as wide as ``1e-2 … 1e-1``;
* lattices (``Integer``, stepped floats, ordered ``Categorical``): one column; each lattice value
  owns an equal cell of the axis (equal in the log for log scales), so a uniform draw is a uniform
  draw over the values, and *snapping* moves a relaxed coordinate to the centre of its cell;
* unordered ``Categorical``: a one-hot block scaled by ``1/sqrt(2)``, so that two different
  choices are at distance 1, like the two ends of a numeric axis;
* ``Fixed`` values and one-value supports: no column at all (nothing to learn).

Every matrix the engine scores is snapped first, so the model always judges the exact point
that would be proposed, and two rows that decode to the same point have the same *key*.
"""

from __future__ import annotations

import abc
import itertools
import math
from collections.abc import Mapping, Sequence
from decimal import Context, Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hyperstep.space import Categorical, Distribution, Integer, LogUniform, Uniform

FloatArray = NDArray[np.float64]

_DECIMAL = Context(prec=60)
_ONE_HOT = 1.0 / math.sqrt(2.0)


def _decimal_lattice(low: float, step: float, k: int) -> float:
    """``low + k·step`` computed in decimal, so ``0 + 7·0.05`` is ``0.35`` like the space's own."""
    exact = _DECIMAL.add(
        Decimal(repr(float(low))), _DECIMAL.multiply(Decimal(k), Decimal(repr(float(step))))
    )
    return float(exact)


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps ``True`` apart from ``1`` (a categorical may hold both)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


class Dimension(abc.ABC):
    """One parameter's block of columns in the encoded matrix."""

    width: int

    def __init__(self, name: str) -> None:
        self.name = name

    @abc.abstractmethod
    def encode(self, value: Any) -> FloatArray:
        """The ``(width,)`` coordinates of one value of the parameter."""

    @abc.abstractmethod
    def decode(self, block: FloatArray) -> Any:
        """The parameter value of one snapped ``(width,)`` block."""

    @abc.abstractmethod
    def snap(self, block: FloatArray) -> FloatArray:
        """Move each row of an ``(m, width)`` block onto the nearest valid value (a copy)."""

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator, m: int) -> FloatArray:
        """``m`` uniformly drawn, snapped rows."""

    @abc.abstractmethod
    def perturb(self, block: FloatArray, scale: float, rng: np.random.Generator) -> FloatArray:
        """Rows moved by about ``scale`` of the axis (snapped); categories flip at random."""

    @abc.abstractmethod
    def key(self, block: FloatArray) -> Any:
        """A hashable identity of one snapped block, equal for equal parameter values."""

    @property
    @abc.abstractmethod
    def size(self) -> int | None:
        """Number of distinct values, ``None`` when continuous."""

    def grid(self) -> FloatArray:
        """Every value's snapped block, ``(size, width)``; only for finite dimensions."""
        raise NotImplementedError(f"{self.name} is continuous")


class ContinuousDimension(Dimension):
    """A float on ``[low, high]``, linear or logarithmic."""

    width = 1

    def __init__(self, name: str, low: float, high: float, log: bool) -> None:
        super().__init__(name)
        self.log = log
        self.low = math.log(low) if log else low
        self.high = math.log(high) if log else high
        self.real_low, self.real_high = low, high

    def encode(self, value: Any) -> FloatArray:
        v = math.log(float(value)) if self.log else float(value)
        return np.array([(v - self.low) / (self.high - self.low)])

    def decode(self, block: FloatArray) -> Any:
        v = self.low + float(block[0]) * (self.high - self.low)
        value = math.exp(v) if self.log else v
        return min(max(value, self.real_low), self.real_high)

    def snap(self, block: FloatArray) -> FloatArray:
        return np.clip(block, 0.0, 1.0)

    def sample(self, rng: np.random.Generator, m: int) -> FloatArray:
        return rng.random((m, 1))

    def perturb(self, block: FloatArray, scale: float, rng: np.random.Generator) -> FloatArray:
        return _reflect(block + rng.normal(0.0, scale, block.shape))

    def key(self, block: FloatArray) -> Any:
        return round(float(block[0]), 12)

    @property
    def size(self) -> int | None:
        return None


class LatticeDimension(Dimension):
    """``m`` ordered values, each owning one equal cell of ``[0, 1]`` (coordinate = cell centre).

    Covers integers, stepped uniform floats and ordered categoricals; the ``values`` callback
    turns a lattice index into the parameter value and ``index_of`` does the reverse.
    """

    width = 1

    def __init__(self, name: str, m: int, value_at: Any, index_of: Any) -> None:
        super().__init__(name)
        self.m = m
        self._value_at = value_at
        self._index_of = index_of

    def _indices(self, block: FloatArray) -> NDArray[np.int64]:
        return np.clip(np.floor(block * self.m), 0, self.m - 1).astype(np.int64)

    def encode(self, value: Any) -> FloatArray:
        return np.array([(self._index_of(value) + 0.5) / self.m])

    def decode(self, block: FloatArray) -> Any:
        return self._value_at(int(self._indices(block)[0]))

    def snap(self, block: FloatArray) -> FloatArray:
        return (self._indices(block) + 0.5) / self.m

    def sample(self, rng: np.random.Generator, m: int) -> FloatArray:
        return (rng.integers(0, self.m, (m, 1)) + 0.5) / self.m

    def perturb(self, block: FloatArray, scale: float, rng: np.random.Generator) -> FloatArray:
        # At least about one cell, or a coarse lattice would never move.
        return self.snap(_reflect(block + rng.normal(0.0, max(scale, 1.0 / self.m), block.shape)))

    def key(self, block: FloatArray) -> Any:
        return int(self._indices(block)[0])

    @property
    def size(self) -> int | None:
        return self.m

    def grid(self) -> FloatArray:
        return ((np.arange(self.m) + 0.5) / self.m)[:, None]


class LogIntegerDimension(Dimension):
    """An integer on a log scale: ``n`` owns ``[log(n - 0.5), log(n + 0.5))``."""

    width = 1

    def __init__(self, name: str, low: int, high: int) -> None:
        super().__init__(name)
        self.low_int, self.high_int = low, high
        self.low, self.high = math.log(low - 0.5), math.log(high + 0.5)

    def _ints(self, block: FloatArray) -> FloatArray:
        values = np.round(np.exp(self.low + np.clip(block, 0.0, 1.0) * (self.high - self.low)))
        return np.clip(values, self.low_int, self.high_int)

    def _coordinate(self, ints: FloatArray) -> FloatArray:
        return (np.log(ints) - self.low) / (self.high - self.low)

    def encode(self, value: Any) -> FloatArray:
        return self._coordinate(np.array([float(value)]))

    def decode(self, block: FloatArray) -> Any:
        return int(self._ints(block)[0])

    def snap(self, block: FloatArray) -> FloatArray:
        return self._coordinate(self._ints(block))

    def sample(self, rng: np.random.Generator, m: int) -> FloatArray:
        return self.snap(rng.random((m, 1)))

    def perturb(self, block: FloatArray, scale: float, rng: np.random.Generator) -> FloatArray:
        return self.snap(_reflect(block + rng.normal(0.0, scale, block.shape)))

    def key(self, block: FloatArray) -> Any:
        return int(self._ints(block)[0])

    @property
    def size(self) -> int | None:
        return self.high_int - self.low_int + 1

    def grid(self) -> FloatArray:
        return self._coordinate(np.arange(self.low_int, self.high_int + 1, dtype=np.float64))[
            :, None
        ]


class SteppedLogDimension(Dimension):
    """A ``LogUniform`` with a step: log axis, values rounded to ``low + k·step``."""

    width = 1

    def __init__(self, name: str, low: float, high: float, step: float, m: int) -> None:
        super().__init__(name)
        self.real_low, self.step, self.m = low, step, m
        self.low, self.high = math.log(low), math.log(high)

    def _indices(self, block: FloatArray) -> FloatArray:
        values = np.exp(self.low + np.clip(block, 0.0, 1.0) * (self.high - self.low))
        return np.clip(np.round((values - self.real_low) / self.step), 0, self.m - 1)

    def _coordinate(self, indices: FloatArray) -> FloatArray:
        values = self.real_low + indices * self.step
        return np.clip((np.log(values) - self.low) / (self.high - self.low), 0.0, 1.0)

    def encode(self, value: Any) -> FloatArray:
        index = min(max(round((float(value) - self.real_low) / self.step), 0), self.m - 1)
        return self._coordinate(np.array([float(index)]))

    def decode(self, block: FloatArray) -> Any:
        return _decimal_lattice(self.real_low, self.step, int(self._indices(block)[0]))

    def snap(self, block: FloatArray) -> FloatArray:
        return self._coordinate(self._indices(block))

    def sample(self, rng: np.random.Generator, m: int) -> FloatArray:
        return self.snap(rng.random((m, 1)))

    def perturb(self, block: FloatArray, scale: float, rng: np.random.Generator) -> FloatArray:
        return self.snap(_reflect(block + rng.normal(0.0, scale, block.shape)))

    def key(self, block: FloatArray) -> Any:
        return int(self._indices(block)[0])

    @property
    def size(self) -> int | None:
        return self.m

    def grid(self) -> FloatArray:
        return self._coordinate(np.arange(self.m, dtype=np.float64))[:, None]


class OneHotDimension(Dimension):
    """An unordered choice: a one-hot block, snapped by taking the largest coordinate."""

    def __init__(self, name: str, choices: Sequence[Any]) -> None:
        super().__init__(name)
        self.choices = list(choices)
        self.width = len(self.choices)

    def _hot(self, indices: NDArray[np.int64]) -> FloatArray:
        block = np.zeros((len(indices), self.width))
        block[np.arange(len(indices)), indices] = _ONE_HOT
        return block

    def encode(self, value: Any) -> FloatArray:
        index = next(i for i, choice in enumerate(self.choices) if _same(choice, value))
        block: FloatArray = self._hot(np.array([index]))[0]
        return block

    def decode(self, block: FloatArray) -> Any:
        return self.choices[int(np.argmax(block))]

    def snap(self, block: FloatArray) -> FloatArray:
        return self._hot(np.argmax(block, axis=1))

    def sample(self, rng: np.random.Generator, m: int) -> FloatArray:
        return self._hot(rng.integers(0, self.width, m))

    def perturb(self, block: FloatArray, scale: float, rng: np.random.Generator) -> FloatArray:
        # Any other choice, uniformly: categories have no neighbours.
        current = np.argmax(block, axis=1)
        shift = rng.integers(1, self.width, len(current))
        return self._hot((current + shift) % self.width)

    def key(self, block: FloatArray) -> Any:
        return int(np.argmax(block))

    @property
    def size(self) -> int | None:
        return self.width

    def grid(self) -> FloatArray:
        return self._hot(np.arange(self.width))


def _reflect(x: FloatArray) -> FloatArray:
    """Fold coordinates that stepped outside ``[0, 1]`` back inside (keeps local moves local)."""
    x = np.abs(x)
    x = np.where(x > 1.0, 2.0 - x, x)
    return np.clip(x, 0.0, 1.0)


def _dimension(name: str, dist: Distribution) -> Dimension | None:
    """The dimension of one distribution, or ``None`` when it has a single value."""
    size = dist.size
    if size == 1:
        return None
    if isinstance(dist, Uniform):
        if dist.step is None:
            return ContinuousDimension(name, float(dist.low), float(dist.high), log=False)
        low, step = float(dist.low), float(dist.step)
        assert size is not None
        return LatticeDimension(
            name,
            size,
            lambda k: _decimal_lattice(low, step, k),
            lambda v: min(max(round((float(v) - low) / step), 0), size - 1),
        )
    if isinstance(dist, LogUniform):
        if dist.step is None:
            return ContinuousDimension(name, dist.low, dist.high, log=True)
        assert size is not None
        return SteppedLogDimension(name, dist.low, dist.high, float(dist.step), size)
    if isinstance(dist, Integer):
        if dist.log:
            return LogIntegerDimension(name, dist.low, dist.high)
        ilow, istep = dist.low, dist.step
        return LatticeDimension(
            name, dist.size, lambda k: ilow + k * istep, lambda v: (int(v) - ilow) // istep
        )
    if isinstance(dist, Categorical):
        choices = list(dist.choices)
        if dist.ordered:
            return LatticeDimension(
                name,
                len(choices),
                lambda k: choices[k],
                lambda v: next(i for i, c in enumerate(choices) if _same(c, v)),
            )
        return OneHotDimension(name, choices)
    return None  # Fixed, or a distribution this engine does not model


class SpaceEncoder:
    """Encodes points of a space as rows, and snaps, draws, perturbs and decodes rows."""

    def __init__(self, space: Mapping[str, Distribution]) -> None:
        self.space = space
        self.constants: dict[str, Any] = {}
        self.dimensions: list[Dimension] = []
        for name, dist in space.items():
            dim = _dimension(name, dist)
            if dim is None:
                values = dist.values()
                self.constants[name] = (
                    values[0] if values else dist.sample(np.random.default_rng(0))
                )
            else:
                self.dimensions.append(dim)
        self.slices: list[slice] = []
        start = 0
        for dim in self.dimensions:
            self.slices.append(slice(start, start + dim.width))
            start += dim.width
        self.width = start
        #: The parameter (dimension index) each column belongs to, for per-parameter lengthscales.
        self.column_param = np.concatenate(
            [np.full(dim.width, i, dtype=np.int64) for i, dim in enumerate(self.dimensions)]
            or [np.zeros(0, dtype=np.int64)]
        )

    @property
    def n_params(self) -> int:
        """How many parameters the model sees (Fixed ones excluded)."""
        return len(self.dimensions)

    @property
    def size(self) -> int | None:
        """Number of distinct points, ``None`` when a dimension is continuous."""
        total = 1
        for dim in self.dimensions:
            if dim.size is None:
                return None
            total *= dim.size
        return total

    def encode(self, points: Sequence[Mapping[str, Any]]) -> FloatArray:
        """Rows for points of the space (as proposed earlier, so on the lattice)."""
        x = np.empty((len(points), self.width))
        for row, point in enumerate(points):
            for dim, cols in zip(self.dimensions, self.slices, strict=True):
                x[row, cols] = dim.encode(point[dim.name])
        return x

    def decode(self, row: FloatArray) -> dict[str, Any]:
        """The point of one snapped row, in the order of the space's parameters."""
        values = dict(self.constants)
        for dim, cols in zip(self.dimensions, self.slices, strict=True):
            values[dim.name] = dim.decode(row[cols])
        return {name: values[name] for name in self.space}

    def snap(self, x: FloatArray) -> FloatArray:
        out = np.empty_like(x)
        for dim, cols in zip(self.dimensions, self.slices, strict=True):
            out[:, cols] = dim.snap(x[:, cols])
        return out

    def sample(self, rng: np.random.Generator, m: int) -> FloatArray:
        """``m`` uniformly drawn rows."""
        if not self.dimensions:
            return np.zeros((m, 0))
        return np.hstack([dim.sample(rng, m) for dim in self.dimensions])

    def perturb(
        self, x: FloatArray, scale: float, rng: np.random.Generator, n_changed: float = 2.0
    ) -> FloatArray:
        """Each row with about ``n_changed`` of its parameters moved (at least one)."""
        m, p = len(x), self.n_params
        if p == 0 or m == 0:
            return x.copy()
        chosen = rng.random((m, p)) < min(1.0, n_changed / p)
        chosen[np.arange(m), rng.integers(0, p, m)] = True
        out = x.copy()
        for i, (dim, cols) in enumerate(zip(self.dimensions, self.slices, strict=True)):
            rows = np.flatnonzero(chosen[:, i])
            if len(rows):
                out[rows, cols] = dim.perturb(x[rows, cols], scale, rng)
        return out

    def key(self, row: FloatArray) -> tuple[Any, ...]:
        """Identity of the point a snapped row decodes to (for de-duplication)."""
        return tuple(
            dim.key(row[cols]) for dim, cols in zip(self.dimensions, self.slices, strict=True)
        )

    def grid(self) -> FloatArray:
        """Every point of a finite space as snapped rows (the caller bounds ``size``)."""
        blocks = [dim.grid() for dim in self.dimensions]
        rows = [np.concatenate(parts) for parts in itertools.product(*blocks)]
        return np.array(rows) if rows else np.zeros((1, 0))
