"""Pure domain vocabulary: statuses, task types, policies and their allowed transitions.

Everything here is plain data so that every layer (store, engine, CLI, API) can share it
without importing each other.
"""

from __future__ import annotations

from enum import Enum


class ExecutionStatus(str, Enum):
    """Valohai's execution statuses; the last four are final."""

    CREATED = "created"
    QUEUED = "queued"
    STARTED = "started"
    STOPPING = "stopping"
    COMPLETE = "complete"
    ERROR = "error"
    CRASHED = "crashed"
    STOPPED = "stopped"

    @property
    def is_final(self) -> bool:
        return self in FINAL_EXECUTION_STATUSES


FINAL_EXECUTION_STATUSES = frozenset(
    {
        ExecutionStatus.COMPLETE,
        ExecutionStatus.ERROR,
        ExecutionStatus.CRASHED,
        ExecutionStatus.STOPPED,
    }
)

#: Allowed execution transitions; the store refuses any other (compare-and-set).
EXECUTION_TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    ExecutionStatus.CREATED: frozenset(
        {ExecutionStatus.QUEUED, ExecutionStatus.STOPPED, ExecutionStatus.CRASHED}
    ),
    ExecutionStatus.QUEUED: frozenset(
        {
            ExecutionStatus.STARTED,
            ExecutionStatus.STOPPING,
            ExecutionStatus.STOPPED,
            ExecutionStatus.CRASHED,
            ExecutionStatus.ERROR,
            ExecutionStatus.COMPLETE,
        }
    ),
    ExecutionStatus.STARTED: frozenset(
        {
            # back to queued only to run again: the runner was lost (its Dask worker died)
            # and retries are left; the engine then starts a new attempt in a fresh folder.
            # A stopping execution is never retried (no STOPPING -> QUEUED).
            ExecutionStatus.QUEUED,
            ExecutionStatus.STOPPING,
            ExecutionStatus.COMPLETE,
            ExecutionStatus.ERROR,
            ExecutionStatus.CRASHED,
            ExecutionStatus.STOPPED,
        }
    ),
    ExecutionStatus.STOPPING: frozenset(
        {
            ExecutionStatus.STOPPED,
            ExecutionStatus.COMPLETE,
            ExecutionStatus.ERROR,
            ExecutionStatus.CRASHED,
        }
    ),
    ExecutionStatus.COMPLETE: frozenset(),
    ExecutionStatus.ERROR: frozenset(),
    ExecutionStatus.CRASHED: frozenset(),
    ExecutionStatus.STOPPED: frozenset(),
}


class TaskStatus(str, Enum):
    CREATED = "created"
    STARTED = "started"
    STOPPING = "stopping"
    COMPLETE = "complete"
    ERROR = "error"
    STOPPED = "stopped"

    @property
    def is_final(self) -> bool:
        return self in (TaskStatus.COMPLETE, TaskStatus.ERROR, TaskStatus.STOPPED)


class TaskType(str, Enum):
    GRID_SEARCH = "grid_search"
    RANDOM_SEARCH = "random_search"
    MANUAL_SEARCH = "manual_search"
    BAYESIAN_TPE = "bayesian_tpe"

    @classmethod
    def parse(cls, text: str) -> TaskType:
        """Valohai's lenient spelling: case-insensitive, ``-`` or ``_``."""
        norm = text.strip().lower().replace("-", "_")
        try:
            return cls(norm)
        except ValueError:
            allowed = ", ".join(t.value for t in cls)
            raise ValueError(f"unknown task type {text!r} (expected one of: {allowed})") from None


class OnChildError(str, Enum):
    CONTINUE_AND_COMPLETE = "continue-and-complete"
    CONTINUE_AND_ERROR = "continue-and-error"
    STOP_ALL_AND_ERROR = "stop-all-and-error"

    @classmethod
    def parse(cls, text: str) -> OnChildError:
        """Accepts YAML's dashed and the API's underscored spellings, any case."""
        norm = text.strip().lower().replace("_", "-")
        try:
            return cls(norm)
        except ValueError:
            allowed = ", ".join(t.value for t in cls)
            raise ValueError(
                f"unknown on-child-error {text!r} (expected one of: {allowed})"
            ) from None
