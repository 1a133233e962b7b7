"""From an execution's metric to the number a search minimises.

Valohai's Bayesian task has a target *value*, not a direction: the optimiser looks for
parameters that make the metric "as close to the target value as possible", so with a target
``t`` the objective is ``|m − t|``. Without a target the metric is minimised, unless a
direction says to maximise it (a CLI/API extension), in which case ``−m`` is minimised.

An execution whose metric is missing, not a number or NaN has no objective (``None``): the
search records it as failed, never with a made-up value.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from hyperstep.errors import ValidationError

DIRECTIONS = ("minimize", "maximize")


def objective_value(
    metric_value: Any, *, target: float | None = None, direction: str | None = None
) -> float | None:
    """The value to minimise for ``metric_value``, or ``None`` when there is none.

    >>> objective_value(0.9, target=1.0)
    0.09999999999999998
    >>> objective_value(0.9, direction="maximize")
    -0.9
    >>> objective_value("n/a") is None
    True

    Raises:
        ValidationError: ``direction`` is neither ``minimize`` nor ``maximize`` or ``target``
            is not a finite number (the field is named).
    """
    sign = _sign(direction)
    goal = _target(target)
    number = _number(metric_value)
    if number is None:
        return None
    if goal is not None:
        return abs(number - goal)
    return sign * number


def _sign(direction: str | None) -> float:
    if direction is None:
        return 1.0
    norm = direction.strip().lower() if isinstance(direction, str) else direction
    if norm not in DIRECTIONS:
        raise ValidationError(
            f"must be 'minimize' or 'maximize', not {direction!r}", field="direction"
        )
    return -1.0 if norm == "maximize" else 1.0


def _target(target: Any) -> float | None:
    if target is None:
        return None
    number = _number(target)
    if number is None or math.isinf(number):
        raise ValidationError(
            f"must be a finite number, not {target!r}", field="optimization_target_value"
        )
    return number


def _number(value: Any) -> float | None:
    # ``True`` is an int to Python but not a metric anyone means as 1.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return None if math.isnan(number) else number


__all__ = ["DIRECTIONS", "objective_value"]
