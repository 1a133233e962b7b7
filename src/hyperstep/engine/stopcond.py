"""Stop conditions: a leval expression over an execution's latest metadata.

Valohai evaluates ``stop-condition`` with leval, its safe expression language; we do the same
(never ``eval``). Names visible to the expression: every latest metadata key, bare and as
``metadata.<key>``; ``parameter.<name>``; ``execution.duration`` (seconds) and
``execution.counter``. A name the execution has not logged yet makes the condition false
rather than an error, because most conditions mention a metric that appears later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leval.excs import EvaluatorError
from leval.extras.common_boolean_evaluator import CommonBooleanEvaluator

from hyperstep.errors import ValidationError


class StopCondition:
    """A parsed, verified stop condition."""

    def __init__(self, expression: str, *, field: str = "stop-condition") -> None:
        self.expression = expression.strip()
        self._evaluator = CommonBooleanEvaluator()
        try:
            self._evaluator.verify(self.expression)
        except (EvaluatorError, SyntaxError, ValueError, TypeError) as exc:
            raise ValidationError(
                f"{self.expression!r} is not a valid expression: {exc}", field=field
            ) from None

    def holds(
        self,
        metadata: Mapping[str, Any],
        *,
        parameters: Mapping[str, Any] | None = None,
        duration: float | None = None,
        counter: int | None = None,
    ) -> bool:
        """Evaluate against an execution's state; missing names or type errors mean false."""
        values: dict[Any, Any] = {}
        for key, value in metadata.items():
            if not isinstance(value, (int, float, str, bool)) or key.startswith("_"):
                continue
            parts = tuple(key.split("."))
            values[parts if len(parts) > 1 else key] = value
            values[("metadata", *parts)] = value
        for name, value in (parameters or {}).items():
            if isinstance(value, (int, float, str, bool)):
                values[("parameter", name)] = value
        if duration is not None:
            values[("execution", "duration")] = duration
        if counter is not None:
            values[("execution", "counter")] = counter
        try:
            return bool(self._evaluator.evaluate(self.expression, values))
        except (EvaluatorError, NameError, TypeError, ValueError, ZeroDivisionError):
            return False
        except Exception:  # a timeout or anything leval raises: never crash the engine
            return False
