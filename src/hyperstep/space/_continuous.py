"""Continuous distributions (stepped or not): :class:`Uniform` and :class:`LogUniform`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from hyperstep.space._base import (
    Distribution,
    check_number,
    check_order,
    check_step,
    json_field,
)
from hyperstep.space._errors import SpaceError
from hyperstep.space._numbers import (
    clean_float,
    format_number,
    is_number,
    lattice_index,
    lattice_size,
    lattice_value,
    on_lattice,
    plain,
    within,
)


@dataclass(frozen=True)
class Uniform(Distribution):
    """Floats uniformly in ``[low, high]``; with ``step``, uniformly over ``low + k·step``."""

    low: float
    high: float
    step: float | None = None

    kind: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        for name in ("low", "high", "step"):
            object.__setattr__(self, name, plain(getattr(self, name)))
        check_number(self.low, "low")
        check_number(self.high, "high")
        check_order(self.low, self.high, "low", "high")
        check_step(self.step)

    @cached_property
    def size(self) -> int | None:
        if self.step is None:
            return 1 if self.low == self.high else None
        return lattice_size(self.low, self.high, self.step)

    def sample(self, rng: np.random.Generator) -> float:
        if self.step is None:
            value = float(rng.uniform(self.low, self.high))
            return min(max(value, float(self.low)), float(self.high))
        # Each lattice point equally likely (Optuna's stepped float), not Hyperopt's
        # round(uniform) which gives the two end points half the weight of the others.
        return self._point(int(rng.integers(0, self.size or 1)))

    def contains(self, value: Any) -> bool:
        value = plain(value)
        if not is_number(value) or not within(value, self.low, self.high):
            return False
        return self.step is None or on_lattice(value, self.low, self.step, self.size or 1)

    def _enumerate(self) -> list[Any]:
        if self.step is None:
            return [float(self.low)]
        return [self._point(k) for k in range(self.size or 1)]

    def _point(self, k: int) -> float:
        # The clip only matters when the slack of lattice_size let a point graze high.
        return min(lattice_value(self.low, self.step or 1, k), float(self.high))

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "low": self.low, "high": self.high, "step": self.step}

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> Uniform:
        return cls(json_field(data, "low"), json_field(data, "high"), data.get("step"))

    def __str__(self) -> str:
        step = f", step={format_number(self.step)}" if self.step is not None else ""
        return f"uniform({format_number(self.low)}, {format_number(self.high)}{step})"


@dataclass(frozen=True)
class LogUniform(Distribution):
    """Floats whose ``log_base`` is uniform in ``[min_exp, max_exp]``.

    ``min_exp``/``max_exp`` are *exponents*: ``LogUniform(-5, -1)`` spans ``1e-5 … 1e-1``, the
    way Valohai's ``logspace`` reads ``min``/``max``. ``low``/``high`` are the real bounds.
    With ``step``, a drawn value is rounded to the nearest ``low + k·step`` inside the bounds.
    """

    min_exp: float
    max_exp: float
    base: float = 10.0
    step: float | None = None

    kind: ClassVar[str] = "loguniform"

    def __post_init__(self) -> None:
        for name in ("min_exp", "max_exp", "base", "step"):
            object.__setattr__(self, name, plain(getattr(self, name)))
        check_number(self.min_exp, "min_exp")
        check_number(self.max_exp, "max_exp")
        check_order(self.min_exp, self.max_exp, "min_exp", "max_exp")
        base = check_number(self.base, "base")
        if base <= 0 or base == 1:
            raise SpaceError(f"base must be positive and not 1, not {format_number(base)}")
        check_step(self.step)
        for exp in (self.min_exp, self.max_exp):
            try:
                value = float(base) ** exp
            except OverflowError:
                value = math.inf
            if not math.isfinite(value) or value == 0:
                raise SpaceError(
                    f"{format_number(base)}**{format_number(exp)} is out of the float range"
                )

    @cached_property
    def low(self) -> float:
        """The smallest value, ``base ** min_exp`` (``base ** max_exp`` when ``base < 1``)."""
        return min(self._bounds)

    @cached_property
    def high(self) -> float:
        """The largest value."""
        return max(self._bounds)

    @cached_property
    def _bounds(self) -> tuple[float, float]:
        base = float(self.base)
        return clean_float(base**self.min_exp), clean_float(base**self.max_exp)

    @cached_property
    def size(self) -> int | None:
        if self.step is None:
            return 1 if self.low == self.high else None
        return lattice_size(self.low, self.high, self.step)

    def sample(self, rng: np.random.Generator) -> float:
        exponent = float(rng.uniform(self.min_exp, self.max_exp))
        value = min(max(float(float(self.base) ** exponent), self.low), self.high)
        if self.step is None:
            return value
        return self._point(lattice_index(value, self.low, self.step, self.size or 1))

    def contains(self, value: Any) -> bool:
        value = plain(value)
        if not is_number(value) or not within(value, self.low, self.high):
            return False
        return self.step is None or on_lattice(value, self.low, self.step, self.size or 1)

    def _enumerate(self) -> list[Any]:
        if self.step is None:
            return [self.low]
        return [self._point(k) for k in range(self.size or 1)]

    def _point(self, k: int) -> float:
        return min(lattice_value(self.low, self.step or 1, k), self.high)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "min_exp": self.min_exp,
            "max_exp": self.max_exp,
            "base": self.base,
            "step": self.step,
        }

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> LogUniform:
        return cls(
            json_field(data, "min_exp"),
            json_field(data, "max_exp"),
            data.get("base", 10.0),
            data.get("step"),
        )

    def __str__(self) -> str:
        extra = f", base={format_number(self.base)}" if self.base != 10 else ""
        if self.step is not None:
            extra += f", step={format_number(self.step)}"
        return f"loguniform({format_number(self.min_exp)}, {format_number(self.max_exp)}{extra})"
