"""The executor contract: what the engine may ask of anything that runs an execution's process.

An executor starts, watches and stops one execution's process. It never touches the store: it
reports through a :data:`RunRef` (stored by the engine with the execution), the files of the
execution folder, and :class:`ExitInfo`. Keeping the store out of executors is what lets the
engine stay the single writer of execution state, and lets a restarted engine rebuild everything
from the store plus the execution folders.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

#: A JSON-serialisable handle to one launched execution, stored by the engine. Every executor
#: puts at least ``kind`` and ``exec_dir`` in it; the rest is the executor's own business.
RunRef = dict[str, Any]

#: ``exited``: the result is recorded (``exit.json``); ``running``: the runner is alive;
#: ``lost``: neither (the runner vanished without a result, e.g. it was SIGKILLed).
RunState = Literal["running", "exited", "lost"]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(text: str) -> datetime:
    """Read an ISO time written by the shim; times without a zone are taken as UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class LaunchSpec:
    """What to run and where.

    ``env`` is the complete environment of the command (as with ``subprocess.Popen(env=...)``):
    the engine builds it from its own environment plus the runtime-contract variables
    (``VH_JOB_ID``, ``VH_CONFIG_DIR``, ...). The executor adds only ``PYTHONUNBUFFERED=1`` so
    that metadata printed by Python programs reaches the log files as it happens.
    """

    exec_dir: Path
    command: str
    cwd: Path
    env: dict[str, str]


@dataclass(frozen=True)
class ExitInfo:
    """How an execution's process ended, as recorded atomically by the runner shim.

    Exactly one of ``exit_code`` and ``signal`` is set when the command ran: a process killed by
    a signal has ``exit_code=None`` and ``signal=N``. A command run through ``/bin/sh`` that is
    not the shell's last command may report ``128+N`` as its exit code instead; that is what the
    shell said, and it is recorded as such. ``error`` is set when the command could not be started
    at all (missing working folder, no ``/bin/sh``); the exit code is then 127.
    """

    exit_code: int | None
    signal: int | None
    start_time: datetime
    end_time: datetime
    #: a stop was requested (SIGTERM/SIGINT/SIGHUP reached the runner) before the process ended
    stop_requested: bool = False
    #: the process group did not end within the grace period and was SIGKILLed
    escalated: bool = False
    error: str | None = None

    @property
    def duration(self) -> float:
        return (self.end_time - self.start_time).total_seconds()

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "signal": self.signal,
            "start_time": self.start_time.isoformat(),
            "end_time": self.end_time.isoformat(),
            "stop_requested": self.stop_requested,
            "escalated": self.escalated,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExitInfo:
        return cls(
            exit_code=data.get("exit_code"),
            signal=data.get("signal"),
            start_time=parse_time(data["start_time"]),
            end_time=parse_time(data["end_time"]),
            stop_requested=bool(data.get("stop_requested", False)),
            escalated=bool(data.get("escalated", False)),
            error=data.get("error"),
        )


@dataclass(frozen=True)
class ChildInfo:
    """The runner's process record (``pid.json``), written once the command has started.

    ``boot_id`` and the ``*_create_time`` values let a later reader tell a live process from an
    unrelated one that got the same pid after a reboot or pid wrap-around.
    """

    shim_pid: int
    child_pid: int
    pgid: int
    host: str
    start_time: datetime
    boot_id: str | None = None
    shim_create_time: float | None = None
    child_create_time: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "shim_pid": self.shim_pid,
            "child_pid": self.child_pid,
            "pgid": self.pgid,
            "host": self.host,
            "start_time": self.start_time.isoformat(),
            "boot_id": self.boot_id,
            "shim_create_time": self.shim_create_time,
            "child_create_time": self.child_create_time,
            **self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChildInfo:
        known = {
            "shim_pid",
            "child_pid",
            "pgid",
            "host",
            "start_time",
            "boot_id",
            "shim_create_time",
            "child_create_time",
        }
        return cls(
            shim_pid=int(data["shim_pid"]),
            child_pid=int(data["child_pid"]),
            pgid=int(data["pgid"]),
            host=str(data["host"]),
            start_time=parse_time(data["start_time"]),
            boot_id=data.get("boot_id"),
            shim_create_time=data.get("shim_create_time"),
            child_create_time=data.get("child_create_time"),
            extra={k: v for k, v in data.items() if k not in known},
        )


class Executor(abc.ABC):
    """Runs executions' processes; the engine's only way to start, watch and stop them.

    Contract:

    * ``launch`` returns once the process is started (or its start failed and that failure is
      recorded as an exit): the returned :data:`RunRef` is JSON-serialisable and is all that a
      restarted engine needs (together with the execution folder) to find the run again.
    * ``state`` never blocks for long and never raises for a run that vanished: it says ``lost``.
    * ``exit_info`` is ``None`` until the result is recorded, then always the same value.
    * ``stop`` returns at once; the process group gets SIGTERM, then SIGKILL after ``grace``
      seconds if it is still alive. Stopping an exited run does nothing.
    * Output goes to ``stdout.log`` and ``stderr.log`` in the execution folder, read with
      :class:`hyperstep.executors.OutputTail` whatever the executor.
    """

    kind: str = ""

    @abc.abstractmethod
    def launch(self, spec: LaunchSpec) -> RunRef:
        """Start ``spec.command`` and return the handle the engine stores."""

    @abc.abstractmethod
    def state(self, ref: RunRef) -> RunState:
        """Where the run is: ``running``, ``exited`` (result recorded) or ``lost``."""

    @abc.abstractmethod
    def exit_info(self, ref: RunRef) -> ExitInfo | None:
        """The recorded result, or ``None`` while there is none."""

    @abc.abstractmethod
    def stop(self, ref: RunRef, grace: float = 10.0) -> None:
        """Ask the run to end: SIGTERM to its process group now, SIGKILL after ``grace``."""

    def child_info(self, ref: RunRef) -> ChildInfo | None:
        """The process record of the run (pids, host), or ``None`` when the executor has none."""
        return None

    def kill_group(self, ref: RunRef) -> bool:
        """SIGKILL the run's process group at once (no grace); ``True`` if a signal was sent."""
        return False

    def adopt(self, exec_dir: Path) -> RunRef | None:
        """Find a run started in ``exec_dir`` by an engine that died before storing its ref.

        Executors that cannot find runs from their folder return ``None``.
        """
        return None

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds between engine turns; may wake early on an exit."""
        import time

        time.sleep(timeout)

    def cleanup_lost(self, ref: RunRef) -> None:  # noqa: B027 - optional hook, no-op default
        """Kill whatever remains of a ``lost`` run, so that a retry never overlaps it."""

    def close(self) -> None:  # noqa: B027 - optional hook, no-op default
        """Release what the executor holds (clients, threads); runs keep going."""
