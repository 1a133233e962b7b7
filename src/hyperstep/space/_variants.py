"""Valohai's variant parameters (``style`` + ``rules``) as value lists and as distributions.

A blueprint's parameter reads ``{name, style, rules}``. Grid, manual and random tasks need the
*values* of each parameter (:func:`variant_values`); Bayesian tasks need a *distribution*
(:func:`variant_distribution`). Both read the rules the same way, so ``hyperstep task run
--dry-run`` can show either view of one blueprint.

Choices made where Valohai's documentation is silent (each has a test):

* ``style`` is case-insensitive; a missing or empty style means ``single`` (valohai-yaml's
  normalisation).
* ``logspace`` accepts ``start``/``end`` or ``min``/``max``; both are exponents.
* ``linear`` and ``logspace`` give ints when everything they are built from is an integer
  (``linear 1..5 step 2`` gives ``[1, 3, 5]``; base 2, exponents 2..8 gives ``[4, 16, 64, 256]``).
* Numbers written as strings (PyYAML reads ``1e-5`` as a string) are accepted.
* ``step`` on a ``random`` rule (Q.Step) must be greater than 0; leave it out for no
  quantisation. (Valohai's form takes 0 for "off"; a 0 here is more often a typo, so it is
  refused with a message rather than silently ignored.)
* ``integerify`` applies to every style: floor each value, then drop repeats keeping order.
  As a distribution, ``random`` + ``integerify`` becomes an :class:`Integer` between the
  integers inside ``[min, max]``.
* ``numberify`` (in the schema, undocumented) is accepted and ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from hyperstep.space._base import Distribution
from hyperstep.space._continuous import LogUniform, Uniform
from hyperstep.space._discrete import Categorical, Fixed, Integer
from hyperstep.space._errors import SpaceError
from hyperstep.space._numbers import (
    clean_float,
    format_number,
    is_integral,
    is_number,
    is_scalar,
    lattice_size,
    lattice_value,
    plain,
    to_decimal,
)

#: The variant styles of Valohai's schema.
STYLES = ("single", "multiple", "linear", "logspace", "random")

#: Random-rule distribution names → canonical name (compared without case, ``-``, ``_``, spaces).
DISTRIBUTIONS = {
    "uniform": "uniform",
    "loguniform": "loguniform",
    "logarithmicuniform": "loguniform",
    "integer": "integer",
    "int": "integer",
}

#: The most values one variant parameter may expand to (``linear``, ``logspace``, ``random``).
MAX_VALUES = 100_000


class _Rules:
    """Typed access to a ``rules`` mapping; every error names ``<field>.rules.<key>``."""

    def __init__(self, rules: Any, field: str) -> None:
        if not isinstance(rules, Mapping):
            raise SpaceError(
                f"rules must be a mapping, not {_type_name(rules)}", field=f"{field}.rules"
            )
        self.rules = rules
        self.field = field

    def where(self, key: str) -> str:
        return f"{self.field}.rules.{key}"

    def has(self, key: str) -> bool:
        return self.rules.get(key) is not None

    def require(self, key: str, why: str) -> Any:
        if not self.has(key):
            raise SpaceError(f"is required {why}", field=self.where(key))
        return self.rules[key]

    def number(self, key: str, why: str, default: float | None = None) -> float:
        """A finite int or float (ints stay ints); numeric strings are read as floats."""
        if not self.has(key):
            if default is not None:
                return default
            self.require(key, why)
        value = plain(self.rules[key])
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise SpaceError(
                    f"must be a number, not {value!r}", field=self.where(key)
                ) from None
        if not is_number(value) or not math.isfinite(value):
            raise SpaceError(f"must be a finite number, not {value!r}", field=self.where(key))
        return value  # type: ignore[no-any-return]

    def count(self, key: str, why: str) -> int:
        value = self.number(key, why)
        if not is_integral(value) or value < 1:
            raise SpaceError(
                f"must be a whole number of at least 1, not {format_number(value)}",
                field=self.where(key),
            )
        if value > MAX_VALUES:
            raise SpaceError(
                f"{format_number(value)} values is too many (at most {MAX_VALUES})",
                field=self.where(key),
            )
        return int(value)

    def flag(self, key: str) -> bool:
        value = self.rules.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise SpaceError(f"must be true or false, not {value!r}", field=self.where(key))
        return value


def variant_values(
    style: str | None,
    rules: Mapping[str, Any] | None,
    *,
    field: str = "parameter",
    seed: int | None = None,
) -> list[Any]:
    """The values one variant parameter stands for in a grid, manual or random task.

    Args:
        style: ``single``, ``multiple``, ``linear``, ``logspace`` or ``random`` (any case).
        rules: the style's rules, as in the blueprint (``{"start": 0, "end": 1, "step": 0.1}``).
        field: where the parameter was written (``parameters.lr``); errors name
            ``<field>.style`` or ``<field>.rules.<key>``.
        seed: the seed of a ``random`` style without its own ``seed`` rule (e.g. the task's seed,
            so that a restarted task draws the same values). Without either, draws differ per call.

    Returns:
        Plain Python values (never numpy scalars), in order; repeats are kept except after
        ``integerify``.

    Raises:
        SpaceError: the style is unknown or a rule is missing, mistyped or out of range.

    >>> variant_values("linear", {"start": 0.8, "end": 0.9, "step": 0.05})
    [0.8, 0.85, 0.9]
    >>> variant_values("logspace", {"min": -3, "max": -1, "count": 3})
    [0.001, 0.01, 0.1]
    """
    kind = _style(style, field)
    parsed = _Rules(rules, field)
    if kind == "single":
        values = [_scalar(parsed, "value")]
    elif kind == "multiple":
        values = _items(parsed)
    elif kind == "linear":
        values = _linear(parsed)
    elif kind == "logspace":
        values = _logspace(parsed)
    else:
        values = _random_draws(parsed, seed)
    if parsed.flag("integerify"):
        values = _integerify(values, parsed)
    return values


def variant_distribution(
    style: str | None, rules: Mapping[str, Any] | None, *, field: str = "parameter"
) -> Distribution:
    """The distribution a random or Bayesian search draws one variant parameter from.

    ``random`` gives :class:`Uniform`, :class:`LogUniform` or :class:`Integer` according to
    ``rules.distribution`` (``uniform`` by default; ``loguniform``/``log_uniform``/
    ``log-uniform``; ``integer``/``int``) with ``min``, ``max``, ``step`` and ``base``;
    ``multiple`` gives :class:`Categorical`; ``single`` gives :class:`Fixed`; ``linear`` and
    ``logspace`` give an ordered :class:`Categorical` of their values.

    Raises:
        SpaceError: as :func:`variant_values`, naming ``<field>.rules.<key>``.

    >>> print(variant_distribution("random", {"distribution": "log-uniform", "min": -5, "max": -1}))
    loguniform(-5, -1)
    """
    kind = _style(style, field)
    parsed = _Rules(rules, field)
    if kind == "random":
        return _random_distribution(parsed)
    values = variant_values(kind, rules, field=field)
    if kind == "single":
        return Fixed(values[0])
    return Categorical(values, ordered=kind != "multiple")


def _style(style: str | None, field: str) -> str:
    if style is None or (isinstance(style, str) and not style.strip()):
        return "single"
    kind = style.strip().lower() if isinstance(style, str) else None
    if kind not in STYLES:
        raise SpaceError(
            f"unknown style {style!r} (expected one of: {', '.join(STYLES)})",
            field=f"{field}.style",
        )
    return kind


def _scalar(rules: _Rules, key: str) -> Any:
    value = plain(rules.require(key, "for style single"))
    if not is_scalar(value):
        raise SpaceError(
            f"must be a string, a finite number or a boolean, not {value!r}",
            field=rules.where(key),
        )
    return value


def _items(rules: _Rules) -> list[Any]:
    items = rules.require("items", "for style multiple")
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise SpaceError(f"must be a list, not {_type_name(items)}", field=rules.where("items"))
    if not items:
        raise SpaceError("must hold at least one value", field=rules.where("items"))
    values = [plain(item) for item in items]
    for index, item in enumerate(values):
        if not is_scalar(item):
            raise SpaceError(
                f"must be a string, a finite number or a boolean, not {item!r}",
                field=f"{rules.where('items')}[{index}]",
            )
    return values


def _linear(rules: _Rules) -> list[Any]:
    start = rules.number("start", "for style linear")
    end = rules.number("end", "for style linear")
    step = rules.number("step", "for style linear")
    if step == 0:
        raise SpaceError("must not be 0", field=rules.where("step"))
    if start != end and (end - start) * step < 0:
        raise SpaceError(
            f"{format_number(step)} goes away from end {format_number(end)}"
            f" (start is {format_number(start)})",
            field=rules.where("step"),
        )
    size = lattice_size(start, end, step) if start != end else 1
    if size > MAX_VALUES:
        raise SpaceError(
            f"{format_number(start)} to {format_number(end)} by {format_number(step)}"
            f" is {size} values, too many (at most {MAX_VALUES})",
            field=rules.where("step"),
        )
    if isinstance(start, int) and isinstance(step, int):
        return [start + k * step for k in range(size)]
    return [lattice_value(start, step, k) for k in range(size)]


def _logspace(rules: _Rules) -> list[Any]:
    low_key, high_key = (
        ("start", "end") if rules.has("start") or rules.has("end") else ("min", "max")
    )
    why = "for style logspace (start/end or min/max are exponents)"
    start = rules.number(low_key, why)
    end = rules.number(high_key, why)
    count = rules.count("count", "for style logspace")
    base = _base(rules)
    if count == 1:
        exponents = [to_decimal(start)]
    else:
        gap = (to_decimal(end) - to_decimal(start)) / (count - 1)
        exponents = [to_decimal(start) + k * gap for k in range(count)]
    values = [_power(base, exponent, rules.where(high_key)) for exponent in exponents]
    integral = isinstance(base, int) and all(e >= 0 and e == e.to_integral() for e in exponents)
    if integral and all(value <= 2**53 for value in values):
        # Whole powers of a whole base stay ints, like linear's ints (base 2: 4, 16, 64, 256).
        return [int(base) ** int(exponent) for exponent in exponents]
    return values


def _power(base: float, exponent: Decimal, where: str) -> float:
    try:
        value = float(base) ** float(exponent)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value) or value == 0:
        raise SpaceError(
            f"{format_number(base)}**{exponent} is out of the float range", field=where
        )
    return clean_float(value)


def _base(rules: _Rules) -> float:
    base = rules.number("base", "", default=10)
    if base <= 0 or base == 1:
        raise SpaceError(
            f"must be positive and not 1, not {format_number(base)}", field=rules.where("base")
        )
    return base


def _random_draws(rules: _Rules, seed: int | None) -> list[Any]:
    count = rules.count("count", "for style random in a grid or random task")
    if rules.has("seed"):
        seed_value = rules.number("seed", "")
        if not is_integral(seed_value) or seed_value < 0:
            raise SpaceError(
                f"must be a whole number of at least 0, not {format_number(seed_value)}",
                field=rules.where("seed"),
            )
        seed = int(seed_value)
    rng = np.random.default_rng(seed)
    # Draw from the plain distribution: integerify is applied afterwards (floor, de-duplicate),
    # which is what Valohai's "Round down and remove duplicates" does.
    dist = _random_distribution(rules, integerify=False)
    return [dist.sample(rng) for _ in range(count)]


def _random_distribution(rules: _Rules, *, integerify: bool | None = None) -> Distribution:
    kind = _distribution_name(rules)
    low = rules.number("min", "for style random")
    high = rules.number("max", "for style random")
    if low > high:
        raise SpaceError(
            f"{format_number(low)} is greater than max {format_number(high)}",
            field=rules.where("min"),
        )
    step = _quantisation_step(rules)
    if integerify is None:
        integerify = rules.flag("integerify")
    try:
        if kind == "integer":
            return _integer(rules, low, high, step)
        if kind == "uniform":
            if integerify:
                return _integer_inside(rules, low, high, step, log=False)
            return Uniform(low, high, step)
        base = _base(rules)
        dist = LogUniform(low, high, base, step)
        if integerify:
            return _integer_inside(rules, dist.low, dist.high, step, log=step is None)
        return dist
    except SpaceError as exc:
        if exc.field is not None:
            raise
        raise SpaceError(exc.message, field=f"{rules.field}.rules") from None


def _distribution_name(rules: _Rules) -> str:
    raw = rules.rules.get("distribution")
    if raw is None:
        return "uniform"
    key = "".join(ch for ch in raw.lower() if ch not in "-_ ") if isinstance(raw, str) else None
    kind = DISTRIBUTIONS.get(key or "")
    if kind is None:
        raise SpaceError(
            f"unknown distribution {raw!r} (expected uniform, loguniform or integer)",
            field=rules.where("distribution"),
        )
    return kind


def _quantisation_step(rules: _Rules) -> float | None:
    if not rules.has("step"):
        return None
    step = rules.number("step", "")
    if step <= 0:
        raise SpaceError(
            f"must be greater than 0 (leave it out for no quantisation), not "
            f"{format_number(step)}",
            field=rules.where("step"),
        )
    return step or None


def _integer(rules: _Rules, low: float, high: float, step: float | None) -> Integer:
    for key, value in (("min", low), ("max", high)):
        if not is_integral(value):
            raise SpaceError(
                f"must be an integer for distribution integer, not {format_number(value)}",
                field=rules.where(key),
            )
    return Integer(int(low), int(high), _integer_step(rules, step))


def _integer_inside(
    rules: _Rules, low: float, high: float, step: float | None, *, log: bool
) -> Integer:
    first, last = math.ceil(low - 1e-9), math.floor(high + 1e-9)
    if first > last:
        raise SpaceError(
            f"no integer lies between {format_number(low)} and {format_number(high)}",
            field=rules.where("integerify"),
        )
    return Integer(first, last, _integer_step(rules, step), log=log and first >= 1)


def _integer_step(rules: _Rules, step: float | None) -> int:
    if step is None:
        return 1
    if not is_integral(step):
        raise SpaceError(
            f"must be a whole number for integer values, not {format_number(step)}",
            field=rules.where("step"),
        )
    return int(step)


def _integerify(values: list[Any], rules: _Rules) -> list[Any]:
    seen: set[int] = set()
    result: list[Any] = []
    for value in values:
        if not is_number(value):
            raise SpaceError(
                f"needs numbers, but the values include {value!r}", field=rules.where("integerify")
            )
        number = math.floor(value)
        if number not in seen:
            seen.add(number)
            result.append(number)
    return result


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__
