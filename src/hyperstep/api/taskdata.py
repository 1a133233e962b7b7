"""Per-task derived data (the task object, progress, plot data), computed once per change.

Ranking, plotting and importance read every execution of a task: tens of milliseconds for
thousands of executions, and a forest fit on top. They only change when an execution of the
task reaches a final status or the task's own status changes, and both show in a cheap
*signature* (the task row plus its status summary: one indexed GROUP BY). So each result is
kept with the signature it was computed for and recomputed only when the signature moves.
While a task runs, parameter importance is also throttled, since a forest refit per finished
execution would be wasted work.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hyperstep import service
from hyperstep.api.listing import Ordering
from hyperstep.api.plots import (
    importance_from,
    metric_keys,
    plot_data,
    sample_points,
    varied_parameters,
)
from hyperstep.engine.plan import explicit_points
from hyperstep.errors import HyperstepError
from hyperstep.model import ExecutionStatus, TaskType
from hyperstep.service import Context
from hyperstep.store import ExecutionRecord, TaskRecord
from hyperstep.taskspec import TaskSpec

T = TypeVar("T")

Signature = tuple[Any, ...]

_FINAL_KEYS = ("complete_count", "error_count", "crashed_count", "stopped_count")
_RUNNING_KEYS = ("queued_count", "started_count", "stopping_count")
#: While a task runs, importance is refitted at most this often (seconds) ...
IMPORTANCE_MIN_AGE = 2.0
#: ... and at most this fraction of the time (a refit that took 0.4 s waits 4 s).
IMPORTANCE_DUTY = 0.1


@dataclass
class _Entry:
    signature: Signature
    records: list[ExecutionRecord]
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Importance:
    computed: float
    cost: float
    finished: int
    value: Any


def progress_of(summary: dict[str, int], planned: int) -> dict[str, int]:
    """``{done, total, running, failed}`` from a status summary and the planned count."""
    done = sum(summary.get(k, 0) for k in _FINAL_KEYS)
    return {
        "done": done,
        "total": max(planned, summary.get("count", 0)),
        "running": sum(summary.get(k, 0) for k in _RUNNING_KEYS),
        "failed": summary.get("error_count", 0) + summary.get("crashed_count", 0),
    }


class TaskData:
    """Memoised task objects and plot data of the tasks the dashboard looks at."""

    def __init__(self, ctx: Context, *, max_tasks: int = 8) -> None:
        self.ctx = ctx
        self.max_tasks = max_tasks
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._planned: dict[str, int] = {}
        self._importance: dict[tuple[str, str | None], _Importance] = {}
        self._lock = threading.Lock()

    # -- signatures ---------------------------------------------------------------------------

    def signature(self, task: TaskRecord) -> tuple[Signature, dict[str, int]]:
        summary = self.ctx.store.task_status_summary(task.id)
        sig = (
            task.status.value,
            task.status_detail,
            task.end_time,
            task.stopped_by_execution,
            tuple(sorted(summary.items())),
        )
        return sig, summary

    def _entry(self, task: TaskRecord, sig: Signature) -> _Entry:
        with self._lock:
            entry = self._entries.get(task.id)
            if entry is not None and entry.signature == sig:
                self._entries.move_to_end(task.id)
                return entry
        records = self.ctx.store.list_executions(task_id=task.id, limit=None)
        entry = _Entry(sig, records)
        with self._lock:
            self._entries[task.id] = entry
            self._entries.move_to_end(task.id)
            while len(self._entries) > self.max_tasks:
                self._entries.popitem(last=False)
        return entry

    def _memo(self, entry: _Entry, key: str, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in entry.values:
                return entry.values[key]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            entry.values[key] = value
        return value

    # -- what the API and the pages show ------------------------------------------------------

    def planned(self, task: TaskRecord) -> int:
        """How many executions the task will have (a grid's size, else execution_count)."""
        if task.id in self._planned:
            return self._planned[task.id]
        spec = TaskSpec.from_json(task.spec)
        planned = int(spec.execution_count or 0)
        if spec.type in (TaskType.GRID_SEARCH, TaskType.MANUAL_SEARCH):
            try:
                planned = len(explicit_points(spec, self.ctx.project.step(spec.step)))
            except HyperstepError:  # valohai.yaml changed since: count what exists
                planned = 0
        self._planned[task.id] = planned
        return planned

    def task_object(self, task: TaskRecord) -> dict[str, Any]:
        """Valohai's task object (:func:`service.task_json`) plus ``progress`` and ``columns``."""
        sig, summary = self.signature(task)
        entry = self._entry(task, sig)

        def compute() -> dict[str, Any]:
            data = service.task_json(
                self.ctx, task, with_executions=False, records=list(entry.records)
            )
            data["status_summary"] = summary
            data["progress"] = progress_of(summary, self.planned(task))
            spec = TaskSpec.from_json(task.spec)
            data["columns"] = {
                "parameters": varied_parameters(spec, entry.records),
                "metrics": metric_keys(entry.records),
            }
            data["urls"]["plots"] = f"/api/v0/tasks/{task.id}/plots/"
            data["urls"]["export"] = f"/api/v0/tasks/{task.id}/export/"
            # Plain JSON values (enums become their values), as the API sends them.
            plain: dict[str, Any] = json.loads(json.dumps(data, default=str))
            return plain

        return self._memo(entry, "task", compute)

    def ordered(
        self, task: TaskRecord, ordering: Ordering, statuses: list[ExecutionStatus] | None
    ) -> list[ExecutionRecord]:
        """The task's executions in ``ordering`` (kept while none of them can change)."""
        sig, summary = self.signature(task)
        if any(summary.get(k, 0) for k in ("created_count", *_RUNNING_KEYS)):
            every = self.ctx.store.list_executions(task_id=task.id, limit=None)
            return ordering.sort(_with_status(every, statuses))
        entry = self._entry(task, sig)
        key = f"order:{ordering.key}:{ordering.descending}:{statuses}"
        return self._memo(entry, key, lambda: ordering.sort(_with_status(entry.records, statuses)))

    def plots(self, task: TaskRecord, metric: str | None = None) -> dict[str, Any]:
        """:func:`plot_data` for the task, importance refitted only as often as it is worth."""
        sig, _summary = self.signature(task)
        entry = self._entry(task, sig)
        spec = TaskSpec.from_json(task.spec)

        def compute() -> dict[str, Any]:
            data = plot_data(spec, entry.records, metric=metric, with_importance=False)
            importance = self._importance_for(task, entry, data)
            sampled = sample_points(data)
            sampled["importance"] = importance
            return sampled

        return self._memo(entry, f"plots:{metric or ''}", compute)

    def _importance_for(self, task: TaskRecord, entry: _Entry, data: dict[str, Any]) -> Any:
        key = (task.id, data["metric"])
        finished = int(data["finished"])
        previous = self._importance.get(key)
        now = time.monotonic()
        if previous is not None and _still_good(previous, finished, task.status.is_final, now):
            return previous.value
        value = importance_from(data)
        self._importance[key] = _Importance(
            computed=now, cost=time.monotonic() - now, finished=finished, value=value
        )
        return value


def _with_status(
    records: list[ExecutionRecord], statuses: list[ExecutionStatus] | None
) -> list[ExecutionRecord]:
    return records if statuses is None else [r for r in records if r.status in statuses]


def _still_good(previous: _Importance, finished: int, final: bool, now: float) -> bool:
    """Reuse an importance while the task runs, unless it is stale enough to refit.

    The same executions give the same importance; a missing one (too few executions) is
    refitted as soon as more finish; a running task's is refitted at most every few seconds,
    and never more than :data:`IMPORTANCE_DUTY` of the time.
    """
    if previous.finished == finished:
        return True
    if previous.value is None or final:
        return False
    return now - previous.computed < max(IMPORTANCE_MIN_AGE, previous.cost / IMPORTANCE_DUTY)
