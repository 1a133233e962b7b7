"""The runner shim: runs one execution's command and leaves a record a restarted engine can trust.

    python -m hyperstep.executors.shim --dir EXEC_DIR --cwd PROJECT_DIR [--grace 10] \\
        -- /bin/sh -c COMMAND

Why a separate process: the engine may be killed (``kill -9``, a laptop closed, a crash) while
executions run. The shim is started in its own session, so it outlives the engine and the
terminal's Ctrl-C; its command writes straight into log files (no pipe that dies with the engine),
and everything the engine needs afterwards is on disk (see :mod:`hyperstep.executors.exec_dir`):

* an exclusive ``flock`` on ``lock`` for the shim's whole life: held means alive (robust against
  pid reuse), and a second shim can never run in the same folder;
* ``pid.json`` once the command started; ``heartbeat`` touched every ``--heartbeat`` seconds;
* ``exit.json``, written atomically once the command and every process of its group have ended.

The command runs in its own process group, with the shim's environment and ``stdin`` from
``/dev/null``. SIGTERM, SIGINT or SIGHUP sent to the shim are forwarded to that group; if the
group is still alive after the grace period (``stop.json``'s ``grace`` when a stop request wrote
one, else ``--grace``) the shim SIGKILLs it. Processes the command leaves behind when it exits
are stopped the same way before ``exit.json`` is written, so no execution outlives its result.

If the shim itself is SIGKILLed, the command keeps running (it is in another process group):
the lock is then free while ``exit.json`` is missing, which a reader reports as ``lost``; the
engine then kills the group recorded in ``pid.json`` and records the execution as crashed.

Exit status of the shim: the command's exit code (``128+N`` when it died of signal ``N``),
127 when the command could not be started, 75 when another shim holds the folder's lock, 76 when
the folder already holds a run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hyperstep.executors import exec_dir as files
from hyperstep.executors import process_group
from hyperstep.executors.base import ChildInfo, ExitInfo, utc_now
from hyperstep.executors.exec_dir import (
    EXIT_ALREADY_RAN,
    EXIT_LOCKED,
    EXIT_SPAWN_FAILED,
    EXIT_USAGE,
)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
#: how long to wait for a SIGKILLed group to disappear before writing the result anyway
_KILL_SETTLE = 5.0
_POLL = 0.05


@dataclass(frozen=True)
class ShimOptions:
    exec_dir: Path
    cwd: Path
    command: list[str]
    grace: float = 10.0
    heartbeat: float = 1.0
    lock_wait: float = 5.0


class UsageError(Exception):
    pass


def parse_args(argv: list[str]) -> ShimOptions:
    """``--dir D --cwd C [--grace S] [--heartbeat S] [--lock-wait S] -- COMMAND...``."""
    if "--" not in argv:
        raise UsageError("expected '--' followed by the command")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    if not command:
        raise UsageError("no command after '--'")
    if len(options) % 2:
        raise UsageError(f"every option needs a value: {options}")
    values = dict(zip(options[::2], options[1::2], strict=True))
    unknown = set(values) - {"--dir", "--cwd", "--grace", "--heartbeat", "--lock-wait"}
    if unknown:
        raise UsageError(f"unknown options: {sorted(unknown)}")
    if "--dir" not in values or "--cwd" not in values:
        raise UsageError("--dir and --cwd are required")
    try:
        return ShimOptions(
            exec_dir=Path(values["--dir"]).absolute(),
            cwd=Path(values["--cwd"]).absolute(),
            command=command,
            grace=max(0.0, float(values.get("--grace", 10.0))),
            heartbeat=max(0.05, float(values.get("--heartbeat", 1.0))),
            lock_wait=max(0.0, float(values.get("--lock-wait", 5.0))),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def acquire_lock(exec_dir: Path, wait: float) -> int | None:
    """Take the folder's exclusive lock, retrying for ``wait`` seconds; the fd, or ``None``.

    Retrying matters: a reader testing the lock holds it for an instant (see
    :func:`hyperstep.executors.exec_dir.lock_held`), which must not make a launch fail.
    """
    fd = os.open(exec_dir / files.LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.01)


class Shim:
    """Runs the command once; :meth:`run` returns the shim's exit status."""

    def __init__(self, options: ShimOptions) -> None:
        self.options = options
        self.dir = options.exec_dir
        self.pgid = 0
        self.child_pid = 0
        self.child_status: int | None = None
        self.stop_requested = False
        self.stop_deadline: float | None = None
        self.escalated = False
        self.next_heartbeat = 0.0
        self.wake_r, self.wake_w = os.pipe()

    # -- lifecycle -------------------------------------------------------------------------

    def run(self) -> int:
        self._install_signal_handlers()
        process_group.become_subreaper()
        self._heartbeat(force=True)
        start = utc_now()
        if (self.dir / files.STOP).exists():
            # Stopped while this runner was starting: the command never runs. (A stop that
            # comes later finds the lock held and signals us; the handlers are in place.)
            self.stop_requested = True
            info = ExitInfo(
                exit_code=None,
                signal=None,
                start_time=start,
                end_time=utc_now(),
                stop_requested=True,
                error="stopped before the command started",
            )
            files.write_json_atomic(self.dir / files.EXIT, info.to_json())
            return 0
        try:
            proc = self._spawn()
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            return self._spawn_failed(start, exc)
        self.child_pid = proc.pid
        try:
            self.pgid = os.getpgid(proc.pid)
        except ProcessLookupError:  # pragma: no cover - the child is a zombie at worst
            self.pgid = proc.pid
        files.write_json_atomic(self.dir / files.PID, self._pid_record(start).to_json())
        self._wait_for_child()
        end = utc_now()
        # Popen must not try to reap a child this loop reaped itself.
        proc.returncode = self._returncode()
        self._end_group()
        self._reap()  # orphans of the group that ended: no zombie is left to pid 1
        info = ExitInfo(
            exit_code=self._exit_code(),
            signal=self._signal(),
            start_time=start,
            end_time=end,
            stop_requested=self.stop_requested,
            escalated=self.escalated,
        )
        files.write_json_atomic(self.dir / files.EXIT, info.to_json())
        return info.exit_code if info.exit_code is not None else 128 + (info.signal or 0)

    def _spawn(self) -> subprocess.Popen[bytes]:
        group: dict[str, Any]
        if sys.version_info >= (3, 11):
            group = {"process_group": 0}
        else:  # pragma: no cover - Python 3.10
            group = {"preexec_fn": os.setpgrp}
        with (
            open(self.dir / files.STDOUT, "ab") as out,
            open(self.dir / files.STDERR, "ab") as err,
        ):
            return subprocess.Popen(
                self.options.command,
                cwd=self.options.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                close_fds=True,
                **group,
            )

    def _spawn_failed(self, start: datetime, exc: BaseException) -> int:
        message = f"hyperstep: could not start the command in {self.options.cwd}: {exc}"
        with open(self.dir / files.STDERR, "ab") as err:
            err.write(message.encode(errors="replace") + b"\n")
        info = ExitInfo(
            exit_code=EXIT_SPAWN_FAILED,
            signal=None,
            start_time=start,
            end_time=utc_now(),
            stop_requested=self.stop_requested,
            error=message,
        )
        files.write_json_atomic(self.dir / files.EXIT, info.to_json())
        return EXIT_SPAWN_FAILED

    def _pid_record(self, start: datetime) -> ChildInfo:
        return ChildInfo(
            shim_pid=os.getpid(),
            child_pid=self.child_pid,
            pgid=self.pgid,
            host=socket.gethostname(),
            start_time=start,
            boot_id=process_group.boot_id(),
            shim_create_time=process_group.create_time(os.getpid()),
            child_create_time=process_group.create_time(self.child_pid),
            extra={"cwd": str(self.options.cwd)},
        )

    # -- waiting ---------------------------------------------------------------------------

    def _wait_for_child(self) -> None:
        while self.child_status is None:
            now = time.monotonic()
            due = [self.next_heartbeat]
            if self.stop_deadline is not None and not self.escalated:
                due.append(self.stop_deadline)
            self._wait_signals(max(0.0, min(due) - now))
            self._reap()
            self._escalate_if_due()
            self._heartbeat()

    def _end_group(self) -> None:
        """Stop what the command left in its group, so nothing outlives the recorded result."""
        if not process_group.group_alive(self.pgid):
            return
        if not self.escalated:
            if not self.stop_requested:
                process_group.signal_group(self.pgid, signal.SIGTERM)
            deadline = self.stop_deadline or time.monotonic() + self.options.grace
            while time.monotonic() < deadline and process_group.group_alive(self.pgid):
                self._wait_signals(min(_POLL, max(0.0, deadline - time.monotonic())))
                self._reap()
                self._heartbeat()
        if process_group.group_alive(self.pgid):
            process_group.signal_group(self.pgid, signal.SIGKILL)
            self.escalated = True
            settle = time.monotonic() + _KILL_SETTLE
            while time.monotonic() < settle and process_group.group_alive(self.pgid):
                time.sleep(0.01)
                self._reap()

    def _reap(self) -> None:
        """Collect every ended child: the command, and orphans re-parented to this subreaper."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.child_pid:
                self.child_status = status

    def _escalate_if_due(self) -> None:
        if self.stop_deadline is None or self.escalated:
            return
        if time.monotonic() >= self.stop_deadline:
            process_group.signal_group(self.pgid, signal.SIGKILL)
            self.escalated = True

    def _heartbeat(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self.next_heartbeat:
            return
        self.next_heartbeat = now + self.options.heartbeat
        path = self.dir / files.HEARTBEAT
        try:
            os.utime(path)
        except FileNotFoundError:
            path.touch()

    # -- signals ---------------------------------------------------------------------------

    def _install_signal_handlers(self) -> None:
        # Signals are not handled in the handler: the interpreter writes each signal number to
        # the wakeup pipe, and the loop reads them, so none is lost between two checks.
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        for sig in (*STOP_SIGNALS, signal.SIGCHLD):
            signal.signal(sig, _ignore_in_handler)

    def _wait_signals(self, timeout: float) -> None:
        readable, _, _ = select.select([self.wake_r], [], [], timeout)
        if not readable:
            return
        with contextlib.suppress(BlockingIOError):
            for number in os.read(self.wake_r, 4096):
                if number in STOP_SIGNALS:
                    self._request_stop(signal.Signals(number))

    def _request_stop(self, sig: signal.Signals) -> None:
        deadline = time.monotonic() + self._grace()
        if self.stop_requested:
            # a second request may only shorten the grace period, never re-signal the command
            self.stop_deadline = min(self.stop_deadline or deadline, deadline)
            return
        self.stop_requested = True
        self.stop_deadline = deadline
        if self.pgid:
            process_group.signal_group(self.pgid, sig)

    def _grace(self) -> float:
        request = files.read_json(self.dir / files.STOP) or {}
        grace = request.get("grace")
        if isinstance(grace, (int, float)) and not isinstance(grace, bool) and grace >= 0:
            return float(grace)
        return self.options.grace

    # -- result ----------------------------------------------------------------------------

    def _returncode(self) -> int:
        assert self.child_status is not None
        return os.waitstatus_to_exitcode(self.child_status)

    def _exit_code(self) -> int | None:
        code = self._returncode()
        return code if code >= 0 else None

    def _signal(self) -> int | None:
        code = self._returncode()
        return -code if code < 0 else None


def _ignore_in_handler(signum: int, frame: object) -> None:
    """Installed so the interpreter reports the signal through the wakeup pipe."""


def main(argv: list[str] | None = None) -> int:
    try:
        options = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        print(f"hyperstep shim: {exc}", file=sys.stderr)
        return EXIT_USAGE
    options.exec_dir.mkdir(parents=True, exist_ok=True)
    lock_fd = acquire_lock(options.exec_dir, options.lock_wait)
    if lock_fd is None:
        print(f"hyperstep shim: {options.exec_dir} is locked by another run", file=sys.stderr)
        return EXIT_LOCKED
    if (options.exec_dir / files.EXIT).exists() or (options.exec_dir / files.PID).exists():
        print(f"hyperstep shim: {options.exec_dir} already holds a run", file=sys.stderr)
        return EXIT_ALREADY_RAN
    # lock_fd stays open (and locked) until this process ends, whatever ends it.
    return Shim(options).run()


if __name__ == "__main__":
    sys.exit(main())
