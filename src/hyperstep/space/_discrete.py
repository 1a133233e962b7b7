"""Discrete distributions: :class:`Integer`, :class:`Categorical` and :class:`Fixed`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hyperstep.space._base import Distribution, check_order, json_field, render
from hyperstep.space._errors import SpaceError
from hyperstep.space._numbers import is_integral, is_scalar, plain, same_value


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
        check_order(self.low, self.high, "low", "high")
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
        value = plain(value)
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
            json_field(data, "low"),
            json_field(data, "high"),
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
            if not is_scalar(plain(choice)):
                raise SpaceError(
                    f"choice #{index + 1} must be a string, a finite number or a boolean,"
                    f" not {choice!r}"
                )
        if not isinstance(ordered, bool):
            raise SpaceError(f"ordered must be true or false, not {ordered!r}")
        unique: list[Any] = []
        for choice in (plain(c) for c in choices):
            # A repeated item would make a point look unseen while it was run (and a grid run
            # it twice), so the support keeps each value once, in first-seen order.
            if not any(same_value(choice, kept) for kept in unique):
                unique.append(choice)
        object.__setattr__(self, "choices", tuple(unique))
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
        value = plain(value)
        return any(same_value(value, choice) for choice in self.choices)

    def _enumerate(self) -> list[Any]:
        return list(self.choices)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "choices": list(self.choices), "ordered": self.ordered}

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> Categorical:
        return cls(json_field(data, "choices"), data.get("ordered", False))

    def __str__(self) -> str:
        name = "ordered" if self.ordered else "categorical"
        return f"{name}({', '.join(render(c) for c in self.choices)})"


@dataclass(frozen=True)
class Fixed(Distribution):
    """Always ``value`` (a str, a finite number or a bool)."""

    value: Any

    kind: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", plain(self.value))
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
        value = plain(value)
        return same_value(value, self.value)

    def _enumerate(self) -> list[Any]:
        return [self.value]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "value": self.value}

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> Fixed:
        return cls(json_field(data, "value"))

    def __str__(self) -> str:
        return f"fixed({render(self.value)})"
