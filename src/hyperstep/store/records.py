"""What the store returns: immutable snapshots of rows, so no caller mistakes one for live state.

Times are seconds since the epoch (UTC) as floats; the API and the CLI format them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from hyperstep.model import ExecutionStatus, TaskStatus, TaskType

Stream = Literal["stdout", "stderr", "status"]
STREAMS: frozenset[str] = frozenset({"stdout", "stderr", "status"})


def iso_time(ts: float) -> str:
    """Valohai's spelling of a metadata ``_time``: ISO 8601 in UTC with microseconds."""
    text = datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


@dataclass(frozen=True)
class TaskRecord:
    id: str
    counter: int
    name: str | None
    step: str
    type: TaskType
    status: TaskStatus
    spec: dict[str, Any]
    seed: int | None
    ctime: float
    start_time: float | None
    end_time: float | None
    status_detail: str | None
    stopped_by_execution: int | None
    lease_owner: str | None
    lease_expires: float | None


@dataclass(frozen=True)
class ExecutionRecord:
    id: str
    counter: int
    task_id: str | None
    task_counter: int | None
    task_index: int | None
    attempt: int
    step: str
    status: ExecutionStatus
    parameters: dict[str, Any]
    command: str
    exec_dir: str
    runner_ref: dict[str, Any] | None
    pid: int | None
    host: str | None
    exit_code: int | None
    ctime: float
    queue_time: float | None
    start_time: float | None
    end_time: float | None
    status_detail: str | None
    cumulative_metadata: dict[str, Any]
    stdout_offset: int
    stderr_offset: int
    n_log_lines: int
    n_events: int

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (or None until both are known)."""
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time


@dataclass(frozen=True)
class MetadataEvent:
    """One JSON object an execution printed; ``data`` carries ``_time`` as Valohai's does."""

    execution_id: str
    seq: int
    time: float
    data: dict[str, Any]


@dataclass(frozen=True)
class LogLine:
    execution_id: str
    seq: int
    stream: Stream
    time: float
    message: str
