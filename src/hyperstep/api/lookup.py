"""Finding tasks and executions by what a URL holds: the UUID id or the counter.

Valohai's API addresses objects by id; people type counters (``!3``, ``#12``). Both work here:
a path segment of digits is a counter, anything else an id.
"""

from __future__ import annotations

from hyperstep.errors import NotFoundError, ValidationError
from hyperstep.model import ExecutionStatus, TaskStatus
from hyperstep.service import Context
from hyperstep.store import ExecutionRecord, TaskRecord

#: Counters are positive 32-bit integers in the store; longer digit strings name nothing.
_MAX_COUNTER_DIGITS = 10

INCOMPLETE = (
    ExecutionStatus.CREATED,
    ExecutionStatus.QUEUED,
    ExecutionStatus.STARTED,
    ExecutionStatus.STOPPING,
)


def _counter(ident: str) -> int | None:
    text = ident.strip().lstrip("!#")
    if text.isascii() and text.isdigit() and len(text) <= _MAX_COUNTER_DIGITS:
        return int(text)
    return None


def find_task(ctx: Context, ident: str) -> TaskRecord:
    """A task by id or counter; NotFoundError names what was asked for."""
    counter = _counter(ident)
    if counter is not None:
        return ctx.store.get_task(counter=counter)
    if not ident or len(ident) > 64 or not ident.isprintable():
        raise NotFoundError(f"task {ident[:64]!r} not found")
    return ctx.store.get_task(id=ident)


def find_execution(ctx: Context, ident: str) -> ExecutionRecord:
    """An execution by id or counter; NotFoundError names what was asked for."""
    counter = _counter(ident)
    if counter is not None:
        return ctx.store.get_execution(counter=counter)
    if not ident or len(ident) > 64 or not ident.isprintable():
        raise NotFoundError(f"execution {ident[:64]!r} not found")
    return ctx.store.get_execution(id=ident)


def execution_statuses(text: str | None) -> list[ExecutionStatus] | None:
    """``status=started,queued`` or the pseudo-statuses ``incomplete`` and ``final``."""
    if text is None or not text.strip():
        return None
    found: list[ExecutionStatus] = []
    for part in text.split(","):
        name = part.strip().lower()
        if name == "incomplete":
            found.extend(INCOMPLETE)
        elif name == "final":
            found.extend(s for s in ExecutionStatus if s.is_final)
        else:
            try:
                found.append(ExecutionStatus(name))
            except ValueError:
                known = ", ".join([s.value for s in ExecutionStatus] + ["incomplete", "final"])
                raise ValidationError(
                    f"unknown status {name[:40]!r} (expected one of: {known})", field="status"
                ) from None
    return list(dict.fromkeys(found))


def task_statuses(text: str | None) -> list[TaskStatus] | None:
    """``status=started`` (comma-separated), or ``unfinished`` for every status not final."""
    if text is None or not text.strip():
        return None
    found: list[TaskStatus] = []
    for part in text.split(","):
        name = part.strip().lower()
        if name == "unfinished":
            found.extend(s for s in TaskStatus if not s.is_final)
        else:
            try:
                found.append(TaskStatus(name))
            except ValueError:
                known = ", ".join([s.value for s in TaskStatus] + ["unfinished"])
                raise ValidationError(
                    f"unknown status {name[:40]!r} (expected one of: {known})", field="status"
                ) from None
    return list(dict.fromkeys(found))
