"""Paged, ordered lists of executions, the way Valohai's ``GET /executions/`` pages them.

Ordering by counter is the store's own (indexed, paged in SQL). Ordering by a parameter, a
metric, the status or the duration reads the executions of one task and sorts them here: a
task holds at most some thousands, and a finished task's list comes from the cache.
Missing values sort last in both directions; numbers sort before text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hyperstep.errors import ValidationError
from hyperstep.model import ExecutionStatus
from hyperstep.store import ExecutionRecord

MAX_LIMIT = 500
DEFAULT_LIMIT = 50

_PLAIN = frozenset({"counter", "status", "duration", "ctime", "end_time", "index"})


@dataclass(frozen=True)
class Ordering:
    """``counter``, ``-duration``, ``parameters.lr``, ``-metadata.val_accuracy``, ..."""

    key: str
    descending: bool

    @property
    def by_counter(self) -> bool:
        return self.key == "counter"

    @classmethod
    def parse(cls, text: str | None) -> Ordering:
        if text is None or not text.strip():
            return cls("counter", True)
        text = text.strip()
        descending = text.startswith("-")
        key = text.lstrip("-+")
        kind, _, name = key.partition(".")
        if key in _PLAIN or (kind in ("parameters", "metadata") and name):
            return cls(key, descending)
        raise ValidationError(
            f"cannot order by {text[:60]!r} (use counter, status, duration, ctime, end_time, "
            "index, parameters.<name> or metadata.<key>, with '-' for descending)",
            field="ordering",
        )

    def value(self, record: ExecutionRecord) -> Any:
        kind, _, name = self.key.partition(".")
        if kind == "parameters":
            return record.parameters.get(name)
        if kind == "metadata":
            return record.cumulative_metadata.get(name)
        if self.key == "status":
            return _STATUS_ORDER[record.status]
        if self.key == "index":
            return record.task_index
        return getattr(record, self.key)

    def sort(self, records: list[ExecutionRecord]) -> list[ExecutionRecord]:
        """Records in this order; ties (and missing values) by counter, descending."""
        by_counter = sorted(records, key=lambda r: -r.counter)
        keyed = [(_sortable(self.value(r)), r) for r in by_counter]
        present = [(k, r) for k, r in keyed if k is not None]
        missing = [r for k, r in keyed if k is None]
        present.sort(key=lambda kr: kr[0], reverse=self.descending)
        return [r for _, r in present] + missing


_STATUS_ORDER = {status: i for i, status in enumerate(ExecutionStatus)}


def _sortable(value: Any) -> tuple[int, Any] | None:
    """A key comparable across types: numbers first, then text; None when missing or NaN."""
    if value is None:
        return None
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return None
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (1, repr(value))


def page_links(
    base: str, params: dict[str, Any], count: int, limit: int, offset: int
) -> tuple[str | None, str | None]:
    """DRF-style ``next`` and ``previous`` URLs of one page."""
    from urllib.parse import urlencode

    def link(new_offset: int) -> str:
        query = {k: v for k, v in params.items() if v is not None}
        query.update(limit=limit, offset=new_offset)
        return f"{base}?{urlencode(query)}"

    following = link(offset + limit) if offset + limit < count else None
    previous = link(max(0, offset - limit)) if offset > 0 else None
    return following, previous
