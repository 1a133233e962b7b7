"""What changed since the last look: the events of the live stream (server-sent events).

The engine may run in this process or in another one (``hyperstep task run`` in a terminal), so
changes are found by reading the store, not by hooks into the engine: each poll compares a
small fingerprint of what the client watches with the previous one and reports the
difference. A task's fingerprint is its status and status summary; an execution's is its
status and how many log lines and metadata events it has. Only unfinished executions are
re-read on each poll, plus the ones that appeared or ended since, so a poll costs a few indexed
queries however large the task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hyperstep.api.lookup import INCOMPLETE
from hyperstep.api.taskdata import progress_of
from hyperstep.errors import NotFoundError
from hyperstep.service import Context
from hyperstep.store import ExecutionRecord, TaskRecord

Event = tuple[str, dict[str, Any]]

#: The Tasks tab watches at most this many of the newest tasks.
MAX_TASKS = 200


def execution_event(record: ExecutionRecord, *, with_metadata: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record.id,
        "counter": record.counter,
        "task": record.task_id,
        "task_counter": record.task_counter,
        "status": record.status.value,
        "n_log_lines": record.n_log_lines,
        "n_events": record.n_events,
        "duration": record.duration,
    }
    if with_metadata:
        data["cumulative_metadata"] = record.cumulative_metadata
    return data


def _execution_print(record: ExecutionRecord) -> tuple[Any, ...]:
    return (record.status.value, record.n_log_lines, record.n_events)


@dataclass
class ChangeFeed:
    """Fingerprints of what one client watches; :meth:`poll` returns the events since."""

    ctx: Context
    task_id: str | None = None
    execution_id: str | None = None
    planned: dict[str, int] = field(default_factory=dict)
    _tasks: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    _executions: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    _open: set[str] = field(default_factory=set)
    _known_count: int | None = None

    def poll(self) -> list[Event]:
        events: list[Event] = []
        if self.execution_id is not None:
            events.extend(self._poll_execution(self.execution_id))
            return events
        events.extend(self._poll_tasks())
        events.extend(self._poll_executions())
        return events

    # -- tasks --------------------------------------------------------------------------------

    def _watched_tasks(self) -> list[TaskRecord]:
        if self.task_id is not None:
            return [self.ctx.store.get_task(id=self.task_id)]
        return self.ctx.store.list_tasks(limit=MAX_TASKS, order="-counter")

    def _poll_tasks(self) -> list[Event]:
        events: list[Event] = []
        for task in self._watched_tasks():
            previous = self._tasks.get(task.id)
            if previous is not None and task.status.is_final and previous[0] == task.status.value:
                continue  # a final task changes no more
            summary = self.ctx.store.task_status_summary(task.id)
            fingerprint = (task.status.value, task.status_detail, tuple(sorted(summary.items())))
            if fingerprint == previous:
                continue
            self._tasks[task.id] = fingerprint
            events.append(
                (
                    "task",
                    {
                        "id": task.id,
                        "counter": task.counter,
                        "status": task.status.value,
                        "status_detail": task.status_detail,
                        "status_summary": summary,
                        "progress": progress_of(summary, self.planned.get(task.id, 0)),
                    },
                )
            )
        return events

    # -- executions ---------------------------------------------------------------------------

    def _poll_execution(self, execution_id: str) -> list[Event]:
        record = self.ctx.store.get_execution(id=execution_id)
        fingerprint = _execution_print(record)
        if self._executions.get(record.id) == fingerprint:
            return []
        self._executions[record.id] = fingerprint
        return [("execution", execution_event(record, with_metadata=True))]

    def _poll_executions(self) -> list[Event]:
        """Unfinished executions (of the task, or all), plus the ones that appeared or ended."""
        store = self.ctx.store
        changed: dict[str, ExecutionRecord] = {}
        current = store.list_executions(
            task_id=self.task_id, status=list(INCOMPLETE), limit=1000, order="-counter"
        )
        open_now = {r.id for r in current}
        for record in current:
            changed[record.id] = record
        for gone in self._open - open_now:  # ended since the last poll
            try:
                changed[gone] = store.get_execution(id=gone)
            except NotFoundError:
                continue
        count = store.count_executions(task_id=self.task_id)
        if self._known_count is not None and count > self._known_count:
            # Executions that appeared and may have ended between two polls.
            for record in store.list_executions(
                task_id=self.task_id, limit=min(count - self._known_count, 1000), order="-counter"
            ):
                changed.setdefault(record.id, record)
        self._known_count = count
        self._open = open_now
        events: list[Event] = []
        for record in sorted(changed.values(), key=lambda r: r.counter):
            fingerprint = _execution_print(record)
            if self._executions.get(record.id) == fingerprint:
                continue
            self._executions[record.id] = fingerprint
            events.append(("execution", execution_event(record)))
        if len(self._executions) > 20_000:  # forget the fingerprints of long-ended executions
            self._executions = {k: v for k, v in self._executions.items() if k in open_now}
        return events
