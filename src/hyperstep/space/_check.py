"""Whether the values of a variant parameter fit the step parameter they feed.

A task must not start executions that the step would refuse, so every value a distribution can
produce is checked against the step parameter's ``type``, ``min``, ``max`` and ``choices``
before anything runs. Continuous distributions are checked through their bounds; finite ones
value by value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hyperstep.space._base import Distribution
from hyperstep.space._continuous import LogUniform, Uniform
from hyperstep.space._discrete import Integer
from hyperstep.space._errors import SpaceError
from hyperstep.space._numbers import (
    format_number,
    is_integral,
    is_number,
    lattice_value,
    same_value,
    within,
)

#: The step parameter types of ``valohai.yaml``.
KINDS = ("float", "integer", "string", "flag")


def check_against_parameter(
    dist_or_values: Distribution | Sequence[Any],
    *,
    kind: str,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: Sequence[Any] | None = None,
    field: str = "parameter",
) -> None:
    """Raise :class:`SpaceError` unless every value fits the step parameter.

    Args:
        dist_or_values: a distribution, or the list of values of a grid/manual parameter.
        kind: the parameter's type: ``float``, ``integer``, ``string`` or ``flag``.
        minimum: the parameter's ``min`` (inclusive), if any.
        maximum: the parameter's ``max`` (inclusive), if any.
        choices: the parameter's ``choices``, if any (compared as given, then as text,
            since ``valohai.yaml`` often lists numeric choices as strings).
        field: what the error names (``parameters.lr``).

    An integral float (``4.0``, from a logspace) counts as an integer value.
    """
    if kind not in KINDS:
        raise SpaceError(f"unknown parameter type {kind!r} (expected one of: {', '.join(KINDS)})")
    if isinstance(dist_or_values, (Uniform, LogUniform, Integer)):
        _check_range(dist_or_values, kind, minimum, maximum, choices, field)
        return
    if isinstance(dist_or_values, Distribution):
        values = dist_or_values.values() or []
    else:
        values = list(dist_or_values)
    for value in values:
        _check_value(value, kind, minimum, maximum, choices, field)


def _check_range(
    dist: Uniform | LogUniform | Integer,
    kind: str,
    minimum: float | None,
    maximum: float | None,
    choices: Sequence[Any] | None,
    field: str,
) -> None:
    if kind == "flag":
        raise SpaceError(
            f"{dist} gives numbers, but the parameter is a flag; use multiple(true, false)",
            field=field,
        )
    if kind == "integer" and not _integral_values(dist):
        raise SpaceError(
            f"{dist} gives fractional values, but the parameter is an integer;"
            " use the integer distribution",
            field=field,
        )
    if choices:
        if dist.size is None:
            raise SpaceError(
                f"{dist} is continuous, but the parameter only takes its choices"
                f" ({_list(choices)}); use multiple",
                field=field,
            )
        for value in dist.values() or []:
            _check_value(value, kind, minimum, maximum, choices, field)
        return
    for value in _extent(dist):
        _check_bounds(value, minimum, maximum, field, f"{dist} can give {format_number(value)}")


def _integral_values(dist: Uniform | LogUniform | Integer) -> bool:
    if isinstance(dist, Integer):
        return True
    if dist.size == 1:
        return is_integral(dist.low)
    return dist.step is not None and is_integral(dist.low) and is_integral(dist.step)


def _extent(dist: Uniform | LogUniform | Integer) -> tuple[float, float]:
    """The smallest and largest value the distribution gives (a lattice may stop below high)."""
    if isinstance(dist, Integer):
        return dist.low, dist.low + (dist.size - 1) * dist.step
    if dist.step is None:
        return dist.low, dist.high
    return dist.low, lattice_value(dist.low, dist.step, (dist.size or 1) - 1)


def _check_bounds(
    value: float, minimum: float | None, maximum: float | None, field: str, what: str
) -> None:
    if minimum is not None and value < minimum and not within(value, minimum, minimum):
        raise SpaceError(
            f"{what}, which is below the parameter's min {format_number(minimum)}", field=field
        )
    if maximum is not None and value > maximum and not within(value, maximum, maximum):
        raise SpaceError(
            f"{what}, which is above the parameter's max {format_number(maximum)}", field=field
        )


def _check_value(
    value: Any,
    kind: str,
    minimum: float | None,
    maximum: float | None,
    choices: Sequence[Any] | None,
    field: str,
) -> None:
    shown = _show(value)
    if kind == "flag" and not isinstance(value, bool):
        raise SpaceError(f"{shown} is not true or false, but the parameter is a flag", field=field)
    if kind == "integer" and not is_integral(value):
        raise SpaceError(f"{shown} is not an integer, but the parameter is one", field=field)
    if kind == "float" and not is_number(value):
        raise SpaceError(f"{shown} is not a number, but the parameter is a float", field=field)
    if choices and not any(_matches(value, choice) for choice in choices):
        raise SpaceError(f"{shown} is not one of the choices ({_list(choices)})", field=field)
    if is_number(value):
        _check_bounds(value, minimum, maximum, field, f"value {shown}")


def _matches(value: Any, choice: Any) -> bool:
    return same_value(value, choice) or _text(value) == _text(choice)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else _text(value)


def _list(choices: Sequence[Any]) -> str:
    return ", ".join(_show(c) for c in choices)
