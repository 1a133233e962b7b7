"""Launch, watch, ingest and finish executions: the part of the engine shared by ``exec run``
and every task.

The supervisor is the only code that changes an execution's status. Each change is a
compare-and-set in the store, so a second engine, a stop request from the API, or a restart in
the middle of a change can never move an execution backwards or finish it twice. The process
itself lives in a runner shim that survives the engine; what the shim writes to the execution's
folder (``pid.json``, the logs, ``exit.json``) is the source of truth on a restart.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from hyperstep.engine.crashpoints import crash_point
from hyperstep.engine.runtime import execution_env, prepare_execution_dir
from hyperstep.executors.base import Executor, LaunchSpec
from hyperstep.executors.tail import OutputTail
from hyperstep.metadata import parse_line
from hyperstep.model import ExecutionStatus as S
from hyperstep.store import ExecutionRecord, Store

#: Called with (execution counter, stream, text) for every log line, e.g. to echo it.
EchoFn = Callable[[int, str, str], None]

#: Largest chunk of output ingested per execution per loop turn, so one flooding program
#: cannot starve the others or grow memory.
_PUMP_BYTES = 4 << 20

ACTIVE = (S.QUEUED, S.STARTED, S.STOPPING)


def utcnow() -> float:
    """Store times are seconds since the epoch."""
    return time.time()


@dataclass
class Live:
    """An execution whose process the supervisor is watching."""

    record: ExecutionRecord
    ref: dict[str, Any]
    tail: OutputTail
    started: float = field(default_factory=time.monotonic)
    stop_requested: bool = False
    stop_sent: float | None = None
    pid_known: bool = False
    timed_out: bool = False
    cumulative: dict[str, Any] = field(default_factory=dict)

    @property
    def counter(self) -> int:
        return self.record.counter


@dataclass
class Finished:
    """What became of an execution when its process ended."""

    record: ExecutionRecord
    status: S
    exit_code: int | None


class Supervisor:
    """Runs executions of one project through one executor, recording everything in the store."""

    def __init__(
        self,
        store: Store,
        project_root: Path,
        executor: Executor,
        *,
        echo: EchoFn | None = None,
        stop_grace: float = 10.0,
        retries: int | None = None,
        time_limits: Mapping[str, float] | None = None,
    ) -> None:
        self.store = store
        #: seconds a step's execution may run (the step's ``time-limit``), by step name
        self.time_limits = dict(time_limits or {})
        self.root = project_root
        self.executor = executor
        self.echo = echo
        self.stop_grace = stop_grace
        #: how many times an execution whose runner was lost (its worker died) runs again;
        #: by default what the executor says (the dask executor: 1), else never
        self.retries = int(getattr(executor, "retries", 0)) if retries is None else retries
        self.live: dict[str, Live] = {}

    # -- starting -------------------------------------------------------------------------

    def exec_dir(self, record: ExecutionRecord) -> Path:
        path = Path(record.exec_dir)
        return path if path.is_absolute() else self.root / path

    def launch(self, record: ExecutionRecord, *, task_counter: int | None = None) -> Live | None:
        """Start a ``created`` execution; returns None when someone else already moved it."""
        self._prepare(record, task_counter)
        if not self.store.transition(record.id, [S.CREATED], S.QUEUED, queue_time=utcnow()):
            return None
        return self._start(record, task_counter=task_counter)

    def _prepare(self, record: ExecutionRecord, task_counter: int | None) -> None:
        prepare_execution_dir(
            self.exec_dir(record),
            counter=record.counter,
            step=record.step,
            parameters=record.parameters,
            command=record.command,
            task_counter=task_counter,
            project_name=self.root.name,
        )

    def _start(
        self,
        record: ExecutionRecord,
        *,
        task_counter: int | None,
        failure: str = "could not start",
        first: bool = True,
    ) -> Live:
        """Launch a ``queued`` execution and record it ``started`` (the one way to start).

        ``first=False`` for a retry: the execution keeps the start time of its first attempt.
        """
        exec_dir = self.exec_dir(record)
        env = execution_env(exec_dir, self.root, counter=record.counter, task_counter=task_counter)
        try:
            ref = self.executor.launch(
                LaunchSpec(exec_dir=exec_dir, command=record.command, cwd=self.root, env=env)
            )
        except Exception as exc:
            self.store.transition(
                record.id,
                [S.QUEUED],
                S.CRASHED,
                end_time=utcnow(),
                status_detail=f"{failure}: {exc}",
            )
            raise
        crash_point("after_process_started")
        info = self.executor.child_info(ref)
        times = {"start_time": utcnow()} if first else {}
        self.store.transition(
            record.id,
            [S.QUEUED],
            S.STARTED,
            **times,
            runner_ref=dict(ref),
            pid=info.child_pid if info else None,
            host=info.host if info else None,
        )
        live = Live(record=record, ref=dict(ref), tail=OutputTail(exec_dir))
        live.pid_known = info is not None
        self.live[record.id] = live
        return live

    def adopt(self, record: ExecutionRecord) -> Live | Finished | None:
        """Take over an execution a previous engine left active (restart reconciliation).

        A shim still holding its lock is watched again from the log offsets already stored;
        one that finished while no engine ran is finished from its ``exit.json`` (its result
        is read, not re-run); a ``queued`` execution whose shim never started is started now;
        anything else is recorded ``crashed``.
        """
        exec_dir = self.exec_dir(record)
        ref = dict(record.runner_ref or {}) or self.executor.adopt(exec_dir)
        state = self.executor.state(ref) if ref else "lost"
        tail = OutputTail(
            exec_dir, stdout_offset=record.stdout_offset, stderr_offset=record.stderr_offset
        )
        live = Live(record=record, ref=dict(ref or {}), tail=tail)
        live.cumulative = dict(record.cumulative_metadata or {})
        live.stop_requested = record.status is S.STOPPING
        if state == "lost" and record.status is S.QUEUED and not (exec_dir / "pid.json").exists():
            # The engine died between queueing and starting the shim: nothing ran, start it.
            return self._relaunch_queued(record)
        if state in ("running", "exited"):
            if record.status is S.QUEUED:
                info = self.executor.child_info(live.ref)
                self.store.transition(
                    record.id,
                    [S.QUEUED],
                    S.STARTED,
                    start_time=utcnow(),
                    runner_ref=live.ref,
                    pid=info.child_pid if info else None,
                    host=info.host if info else None,
                )
            self.live[record.id] = live
            return live
        # Lost: the shim is gone without a result. Kill whatever it left and record a crash
        # (or run it again, in a fresh attempt folder, while retries are left).
        if ref:
            self.executor.cleanup_lost(ref)
        self.live[record.id] = live
        self._drain(live)
        del self.live[record.id]
        detail = self._lost_detail(live)
        if record.status is not S.STOPPING:
            retried = self._retry(live, detail)
            if retried is not None:
                return retried
        self.store.transition(
            record.id,
            list(ACTIVE),
            S.CRASHED,
            end_time=utcnow(),
            status_detail=detail,
        )
        return Finished(record=record, status=S.CRASHED, exit_code=None)

    def _relaunch_queued(self, record: ExecutionRecord) -> Live | None:
        return self._start(record, task_counter=record.task_counter)

    # -- watching -------------------------------------------------------------------------

    def pump(self, live: Live, *, final: bool = False) -> list[dict[str, Any]]:
        """Ingest new output of one execution; returns its new metadata events, in order."""
        items = live.tail.finish() if final else live.tail.read(_PUMP_BYTES)
        if not items:
            return []
        now = utcnow()
        logs: list[tuple[str, float, str]] = []
        events: list[tuple[float, dict[str, Any]]] = []
        for stream, raw in items:
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            logs.append((stream, now, text))
            if stream == "stdout":
                event = parse_line(raw)
                if event is not None:
                    events.append((now, event))
            if self.echo is not None:
                self.echo(live.counter, stream, text)
        so, se = live.tail.offsets
        self.store.append_output(
            live.record.id, logs=logs, events=events, stdout_offset=so, stderr_offset=se
        )
        new = [event for _, event in events]
        for event in new:
            live.cumulative.update(event)
        return new

    def poll(
        self, on_event: Callable[[Live, dict[str, Any]], None] | None = None
    ) -> list[Finished]:
        """One turn: ingest output of every live execution and finish the ones that ended."""
        finished: list[Finished] = []
        for live in list(self.live.values()):
            state = self.executor.state(live.ref)
            if not live.pid_known:
                self._record_pid(live)
            for event in self.pump(live):
                if on_event is not None:
                    on_event(live, event)
            if state == "running":
                self._enforce_time_limit(live)
                self._escalate(live)
                continue
            result = self._finish(live, state, on_event)
            if result is not None:  # None: lost, and running again as a new attempt
                finished.append(result)
        return finished

    def _drain(
        self, live: Live, on_event: Callable[[Live, dict[str, Any]], None] | None = None
    ) -> None:
        """Ingest everything left once the process is gone, a last unterminated line too.

        The tail advances through a long line's body without returning lines, so it is the
        tail (``pending``), not the offsets, that says whether anything is left.
        """
        while True:
            for event in self.pump(live, final=True):
                if on_event is not None:
                    on_event(live, event)
            if not live.tail.pending:
                return

    def _record_pid(self, live: Live) -> None:
        """Store the pid and host once the runner has written them (launch does not wait)."""
        info = self.executor.child_info(live.ref)
        if info is not None:
            live.pid_known = True
            self.store.update_execution(live.record.id, pid=info.child_pid, host=info.host)

    def wait(self, timeout: float) -> None:
        """Sleep between turns; the executor may wake us early when a process exits."""
        self.executor.wait(timeout)

    def _finish(
        self,
        live: Live,
        state: str,
        on_event: Callable[[Live, dict[str, Any]], None] | None,
    ) -> Finished | None:
        self._drain(live, on_event)
        if not live.pid_known:
            self._record_pid(live)
        del self.live[live.record.id]
        info = self.executor.exit_info(live.ref) if state == "exited" else None
        current = self.store.get_execution(id=live.record.id)
        stop_requested = live.stop_requested or current.status is S.STOPPING
        exit_code = info.exit_code if info else None
        if info is None:
            self.executor.cleanup_lost(live.ref)
            status, detail = S.CRASHED, self._lost_detail(live)
            if stop_requested:
                # Asked to stop, and gone: that is what was asked, not a crash.
                status, detail = S.STOPPED, f"stopped on request ({detail})"
            elif self._retry(live, detail) is not None:
                return None
        elif exit_code == 0:
            status, detail = S.COMPLETE, None
        elif live.timed_out:
            limit = self.time_limits.get(live.record.step, 0.0)
            status, detail = S.ERROR, f"stopped at the step's time limit of {limit:g} s"
        elif stop_requested:
            status, detail = S.STOPPED, "stopped on request"
        else:
            status = S.ERROR
            detail = (
                f"killed by signal {info.signal}"
                if info.signal
                else f"the command exited with status {exit_code}"
            )
        crash_point("after_process_ended")
        fields: dict[str, Any] = {"end_time": _as_epoch(info.end_time) if info else utcnow()}
        fields["exit_code"] = exit_code
        if detail:
            fields["status_detail"] = detail
        self.store.transition(live.record.id, list(ACTIVE), status, **fields)
        return Finished(record=live.record, status=status, exit_code=exit_code)

    # -- retrying -------------------------------------------------------------------------

    def _lost_detail(self, live: Live) -> str:
        detail = "the runner process vanished without an exit status"
        reason_of = getattr(self.executor, "lost_reason", None)
        reason = reason_of(live.ref) if callable(reason_of) else None
        return f"{detail}: {reason}" if reason else detail

    def _retry(self, live: Live, detail: str) -> Live | None:
        """Run a lost execution again as its next attempt, while ``retries`` allow it.

        The crash is kept in the execution's log (a ``status`` line) and ``status_detail``;
        the new attempt gets a fresh folder ``<execution folder>/attempt-<n>/`` (an executor
        never reuses one), log offsets from zero, and goes ``started`` → ``queued`` →
        ``started`` by compare-and-set, so a concurrent stop wins and nothing runs twice. An
        execution being stopped is never retried. Returns the new attempt, or None.
        """
        current = self.store.get_execution(id=live.record.id)
        if current.attempt > self.retries or current.status not in (S.QUEUED, S.STARTED):
            return None
        attempt = current.attempt + 1
        base = PurePosixPath(current.exec_dir)
        if re.fullmatch(r"attempt-\d+", base.name):
            base = base.parent
        message = (
            f"attempt {current.attempt} crashed: {detail}; running it again as attempt {attempt}"
        )
        so, se = live.tail.offsets
        self.store.append_output(
            current.id,
            logs=[("status", utcnow(), message)],
            events=[],
            stdout_offset=so,
            stderr_offset=se,
        )
        fields: dict[str, Any] = {
            "attempt": attempt,
            "exec_dir": str(base / f"attempt-{attempt}"),
            "runner_ref": None,
            "pid": None,
            "host": None,
            "stdout_offset": 0,
            "stderr_offset": 0,
            "status_detail": message,
        }
        if current.status is S.QUEUED:
            self.store.update_execution(current.id, **fields)
        elif not self.store.transition(current.id, [S.STARTED], S.QUEUED, **fields):
            return None
        record = self.store.get_execution(id=current.id)
        self._prepare(record, record.task_counter)
        return self._start(
            record,
            task_counter=record.task_counter,
            failure=f"{message}; could not start it",
            first=False,
        )

    # -- stopping -------------------------------------------------------------------------

    def request_stop(self, live: Live, *, reason: str = "stopped on request") -> None:
        """SIGTERM the execution's process group now; SIGKILL follows after the grace period."""
        if live.stop_requested and live.stop_sent is not None:
            return
        live.stop_requested = True
        self.store.transition(
            live.record.id, [S.QUEUED, S.STARTED], S.STOPPING, status_detail=reason
        )
        self.executor.stop(live.ref, grace=self.stop_grace)
        live.stop_sent = time.monotonic()

    def stop_all(self, *, reason: str = "stopped on request") -> None:
        for live in list(self.live.values()):
            self.request_stop(live, reason=reason)

    def kill_now(self) -> None:
        """A second Ctrl-C: no grace period."""
        for live in list(self.live.values()):
            self.executor.kill_group(live.ref)

    def _escalate(self, live: Live) -> None:
        """Notice a stop requested by another process (``exec stop``, the API)."""
        if live.stop_sent is None and live.stop_requested:
            self.executor.stop(live.ref, grace=self.stop_grace)
            live.stop_sent = time.monotonic()

    def refresh_stop_requests(self) -> None:
        """Pick up ``stopping`` statuses written by another process."""
        for live in list(self.live.values()):
            if live.stop_sent is None:
                record = self.store.get_execution(id=live.record.id)
                if record.status is S.STOPPING:
                    live.stop_requested = True
                    self._escalate(live)

    def duration(self, live: Live) -> float:
        """Seconds since the execution started (from its stored start after a restart)."""
        start = live.record.start_time
        if start is not None:
            return max(0.0, time.time() - start)
        return time.monotonic() - live.started

    def _enforce_time_limit(self, live: Live) -> None:
        """The step's ``time-limit``: SIGTERM to the group at the limit, SIGKILL after grace."""
        limit = self.time_limits.get(live.record.step)
        if not limit or live.stop_requested or self.duration(live) < limit:
            return
        live.timed_out = True
        self.request_stop(live, reason=f"stopped at the step's time limit of {limit:g} s")


def parameters_of(record: ExecutionRecord) -> Mapping[str, Any]:
    return record.parameters or {}


def _as_epoch(value: Any) -> float:
    """Exit files carry ISO times or epoch seconds; the store wants epoch seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    if isinstance(value, str):
        from datetime import datetime

        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return utcnow()
