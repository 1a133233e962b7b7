"""The distributions a parameter of a search space is drawn from.

Five kinds cover Valohai's variant parameters and Bayesian distributions:

============  ==================================================  ===========================
class         values                                              Valohai spelling
============  ==================================================  ===========================
Uniform       floats in ``[low, high]``                           ``random`` / ``uniform``
LogUniform    floats in ``[base**min_exp, base**max_exp]``,       ``random`` / ``loguniform``
              uniform in the exponent
Integer       ints ``low, low + step, … <= high``                 ``random`` / ``integer``
Categorical   one of a list of str/int/float/bool choices         ``multiple`` (``linear`` and
                                                                  ``logspace`` when ordered)
Fixed         one value                                           ``single``
============  ==================================================  ===========================

``step`` is Valohai's *Q.Step*: a stepped distribution only yields ``low + k·step`` inside the
bounds, so every value a search proposes is one a grid over the same rules could produce.
For :class:`LogUniform` the step rounds the *value* (not the exponent), as in Hyperopt's
``qloguniform``.

Every value a distribution returns is a plain Python ``int``/``float``/``str``/``bool``, never a
numpy scalar, so it can go straight into JSON, SQL and a command line.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from hyperstep.space._errors import SpaceError
from hyperstep.space._numbers import (
    clean_float,
    format_number,
    is_integral,
    is_number,
    is_scalar,
    lattice_index,
    lattice_size,
    lattice_value,
    on_lattice,
    same_value,
    within,
)

#: ``values()`` refuses to build a list longer than this (``size`` stays exact): an
#: ``Integer(0, 10**9)`` is a fine Bayesian dimension but not a list to hold in memory.
MAX_ENUMERATION = 1_000_000


class Distribution(abc.ABC):
    """What one parameter of a :class:`~hyperstep.space.Space` can take.

    Contract for every subclass:

    * ``sample(rng)`` returns a value for which ``contains`` is true;
    * ``values()`` is the finite support in a stable order, or ``None`` when it is continuous;
    * ``size`` is ``len(values())`` without building the list (``None`` when continuous);
    * ``Distribution.from_json(d.to_json()) == d``.
    """

    #: The ``type`` tag of the JSON form.
    kind: ClassVar[str]

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator) -> Any:
        """Draw one value with ``rng`` (the only source of randomness, so seeds reproduce)."""

    @abc.abstractmethod
    def contains(self, value: Any) -> bool:
        """True when ``value`` is one this distribution can produce."""

    @property
    @abc.abstractmethod
    def size(self) -> int | None:
        """The number of distinct values, or ``None`` for a continuous distribution."""

    @abc.abstractmethod
    def _enumerate(self) -> list[Any]:
        """The finite support; only called when ``size`` is not ``None``."""

    @abc.abstractmethod
    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict with a ``type`` tag; :meth:`from_json` reads it back."""

    def values(self) -> list[Any] | None:
        """The finite support in order (lattice order, or the order of the choices), else None.

        Raises:
            SpaceError: the support has more than :data:`MAX_ENUMERATION` values.
        """
        size = self.size
        if size is None:
            return None
        if size > MAX_ENUMERATION:
            raise SpaceError(
                f"{self} has {size} values, too many to enumerate (at most {MAX_ENUMERATION})"
            )
        return self._enumerate()

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Distribution:
        """Rebuild a distribution from :meth:`to_json` output (validating it again)."""
        if not isinstance(data, Mapping):
            raise SpaceError(f"a distribution must be a JSON object, not {type(data).__name__}")
        kind = data.get("type")
        cls = _BY_KIND.get(kind) if isinstance(kind, str) else None
        if cls is None:
            known = ", ".join(sorted(_BY_KIND))
            raise SpaceError(f"unknown distribution type {kind!r} (expected one of: {known})")
        return cls._from_json(data)

    @classmethod
    @abc.abstractmethod
    def _from_json(cls, data: Mapping[str, Any]) -> Distribution: ...


def _number(value: Any, what: str) -> float:
    if not is_number(value) or not math.isfinite(value):
        raise SpaceError(f"{what} must be a finite number, not {value!r}")
    return float(value)


def _step(step: Any) -> float | None:
    if step is None:
        return None
    value = _number(step, "step")
    if value <= 0:
        raise SpaceError(f"step must be greater than 0, not {format_number(value)}")
    return value


def _check_order(low: float, high: float, low_name: str, high_name: str) -> None:
    if low > high:
        raise SpaceError(
            f"{low_name} {format_number(low)} is greater than {high_name} {format_number(high)}"
        )


def _json_field(data: Mapping[str, Any], key: str, default: Any = ...) -> Any:
    if key in data:
        return data[key]
    if default is ...:
        raise SpaceError(f"{data.get('type')} distribution JSON lacks {key!r}")
    return default


@dataclass(frozen=True)
class Uniform(Distribution):
    """Floats uniformly in ``[low, high]``; with ``step``, uniformly over ``low + k·step``."""

    low: float
    high: float
    step: float | None = None

    kind: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        _number(self.low, "low")
        _number(self.high, "high")
        _check_order(self.low, self.high, "low", "high")
        _step(self.step)

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
        k = int(rng.integers(0, self.size or 1))
        return lattice_value(self.low, self.step, k)

    def contains(self, value: Any) -> bool:
        if not is_number(value) or not within(value, self.low, self.high):
            return False
        return self.step is None or on_lattice(value, self.low, self.step, self.size or 1)

    def _enumerate(self) -> list[Any]:
        if self.step is None:
            return [float(self.low)]
        return [lattice_value(self.low, self.step, k) for k in range(self.size or 1)]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "low": self.low, "high": self.high, "step": self.step}

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> Uniform:
        return cls(_json_field(data, "low"), _json_field(data, "high"), data.get("step"))

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
        _number(self.min_exp, "min_exp")
        _number(self.max_exp, "max_exp")
        _check_order(self.min_exp, self.max_exp, "min_exp", "max_exp")
        base = _number(self.base, "base")
        if base <= 0 or base == 1:
            raise SpaceError(f"base must be positive and not 1, not {format_number(base)}")
        _step(self.step)
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
        size = self.size or 1
        return lattice_value(self.low, self.step, lattice_index(value, self.low, self.step, size))

    def contains(self, value: Any) -> bool:
        if not is_number(value) or not within(value, self.low, self.high):
            return False
        return self.step is None or on_lattice(value, self.low, self.step, self.size or 1)

    def _enumerate(self) -> list[Any]:
        if self.step is None:
            return [self.low]
        return [lattice_value(self.low, self.step, k) for k in range(self.size or 1)]

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
            _json_field(data, "min_exp"),
            _json_field(data, "max_exp"),
            data.get("base", 10.0),
            data.get("step"),
        )

    def __str__(self) -> str:
        extra = f", base={format_number(self.base)}" if self.base != 10 else ""
        if self.step is not None:
            extra += f", step={format_number(self.step)}"
        return f"loguniform({format_number(self.min_exp)}, {format_number(self.max_exp)}{extra})"


@dataclass(frozen=True)
class Integer(Distribution):
    """Ints ``low, low + step, …`` up to ``high``; with ``log``, uniform in ``log(value)``.

    ``log=True`` needs ``low >= 1`` and ``step == 1`` (Optuna's rule: a log scale with gaps of
    ``step`` has no clear meaning).
    """

    low: int
    high: int
    step: int = 1
    log: bool = False

    kind: ClassVar[str] = "integer"

    def __post_init__(self) -> None:
        for name in ("low", "high", "step"):
            value = getattr(self, name)
            if not is_integral(value):
                raise SpaceError(f"{name} must be an integer, not {value!r}")
            # 3.0 from YAML or JSON is accepted and kept as the int it means.
            object.__setattr__(self, name, int(value))
        _check_order(self.low, self.high, "low", "high")
        if self.step <= 0:
            raise SpaceError(f"step must be greater than 0, not {self.step}")
        if not isinstance(self.log, bool):
            raise SpaceError(f"log must be true or false, not {self.log!r}")
        if self.log and self.low < 1:
            raise SpaceError(f"a log-scale integer needs low >= 1, not {self.low}")
        if self.log and self.step != 1:
            raise SpaceError(f"a log-scale integer needs step 1, not {self.step}")

    @property
    def size(self) -> int:
        return (self.high - self.low) // self.step + 1

    def sample(self, rng: np.random.Generator) -> int:
        if not self.log:
            return self.low + self.step * int(rng.integers(0, self.size))
        # Each integer owns the interval [n - 0.5, n + 0.5) on the log scale (as in Optuna).
        lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
        value = round(math.exp(float(rng.uniform(lo, hi))))
        return min(max(int(value), self.low), self.high)

    def contains(self, value: Any) -> bool:
        if not is_integral(value):
            return False
        number = int(value)
        return self.low <= number <= self.high and (number - self.low) % self.step == 0

    def _enumerate(self) -> list[Any]:
        return list(range(self.low, self.high + 1, self.step))

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "low": self.low,
            "high": self.high,
            "step": self.step,
            "log": self.log,
        }

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> Integer:
        return cls(
            _json_field(data, "low"),
            _json_field(data, "high"),
            data.get("step", 1),
            data.get("log", False),
        )

    def __str__(self) -> str:
        extra = f", step={self.step}" if self.step != 1 else ""
        extra += ", log=true" if self.log else ""
        return f"integer({self.low}, {self.high}{extra})"


@dataclass(frozen=True)
class Categorical(Distribution):
    """One of ``choices`` (str, int, float or bool), each equally likely.

    ``ordered=True`` marks a discrete choice whose order means something (the values of a
    ``linear`` or ``logspace`` rule), so a search may treat neighbours as close.
    """

    choices: tuple[Any, ...]
    ordered: bool = False

    kind: ClassVar[str] = "categorical"

    def __init__(self, choices: Sequence[Any], ordered: bool = False) -> None:
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence):
            raise SpaceError(f"choices must be a list, not {type(choices).__name__}")
        if not choices:
            raise SpaceError("choices must not be empty")
        for index, choice in enumerate(choices):
            if not is_scalar(choice):
                raise SpaceError(
                    f"choice #{index + 1} must be a string, a finite number or a boolean,"
                    f" not {choice!r}"
                )
        if not isinstance(ordered, bool):
            raise SpaceError(f"ordered must be true or false, not {ordered!r}")
        object.__setattr__(self, "choices", tuple(choices))
        object.__setattr__(self, "ordered", ordered)

    def __eq__(self, other: object) -> bool:
        # Type-aware: Categorical([1]) is not Categorical([True]).
        if not isinstance(other, Categorical):
            return NotImplemented
        return (
            self.ordered == other.ordered
            and len(self.choices) == len(other.choices)
            and all(same_value(a, b) for a, b in zip(self.choices, other.choices, strict=True))
        )

    def __hash__(self) -> int:
        return hash((self.ordered, tuple((type(c).__name__, c) for c in self.choices)))

    @property
    def size(self) -> int:
        return len(self.choices)

    def sample(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(0, len(self.choices)))]

    def contains(self, value: Any) -> bool:
        return any(same_value(value, choice) for choice in self.choices)

    def _enumerate(self) -> list[Any]:
        return list(self.choices)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "choices": list(self.choices), "ordered": self.ordered}

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> Categorical:
        return cls(_json_field(data, "choices"), data.get("ordered", False))

    def __str__(self) -> str:
        name = "ordered" if self.ordered else "categorical"
        return f"{name}({', '.join(_render(c) for c in self.choices)})"


@dataclass(frozen=True)
class Fixed(Distribution):
    """Always ``value`` (a str, a finite number or a bool)."""

    value: Any

    kind: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        if not is_scalar(self.value):
            raise SpaceError(
                f"a fixed value must be a string, a finite number or a boolean, not {self.value!r}"
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fixed):
            return NotImplemented
        return same_value(self.value, other.value)

    def __hash__(self) -> int:
        return hash((type(self.value).__name__, self.value))

    @property
    def size(self) -> int:
        return 1

    def sample(self, rng: np.random.Generator) -> Any:
        return self.value

    def contains(self, value: Any) -> bool:
        return same_value(value, self.value)

    def _enumerate(self) -> list[Any]:
        return [self.value]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "value": self.value}

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> Fixed:
        return cls(_json_field(data, "value"))

    def __str__(self) -> str:
        return f"fixed({_render(self.value)})"


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return format_number(value)


_BY_KIND: dict[str, type[Distribution]] = {
    cls.kind: cls for cls in (Uniform, LogUniform, Integer, Categorical, Fixed)
}

__all__ = [
    "MAX_ENUMERATION",
    "Categorical",
    "Distribution",
    "Fixed",
    "Integer",
    "LogUniform",
    "Uniform",
]
