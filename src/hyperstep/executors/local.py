"""The local executor: each execution is a runner shim (and its command) on this machine.

The executor only starts shims and reads what they leave in the execution folder; it keeps no
state that matters, so a restarted engine with a new ``LocalExecutor`` sees exactly what the old
one saw (``state``, ``exit_info``, ``adopt``).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import hyperstep
from hyperstep.errors import ConflictError, HyperstepError, ValidationError
from hyperstep.executors import exec_dir as files
from hyperstep.executors import process_group
from hyperstep.executors.base import (
    ChildInfo,
    Executor,
    ExitInfo,
    LaunchSpec,
    RunRef,
    RunState,
    utc_now,
)

SHIM_MODULE = "hyperstep.executors.shim"
_LAUNCH_POLL = 0.01


def _package_parent() -> Path:
    """The folder holding the ``hyperstep`` package this process imported.

    The shim runs with this folder as its working directory: ``python -m`` puts the working
    directory first on ``sys.path``, so the shim is the same hyperstep as the engine, installed
    or run from a source tree, whatever ``PYTHONPATH`` the execution's environment holds.
    """
    return Path(hyperstep.__file__).resolve().parent.parent


class LocalExecutor(Executor):
    """Runs executions as processes of this machine, each under a runner shim.

    Args:
        python: the interpreter that runs the shim (not the command: that is ``/bin/sh``).
        grace: the default seconds between SIGTERM and SIGKILL when the shim is signalled
            without a stop request (``stop`` passes its own).
        startup_timeout: how long ``launch`` waits for the shim to start the command.
        wait_started: whether ``launch`` returns only once the command has started
            (``pid.json`` written). The engine passes ``False``: it needs no pid to go on,
            reads ``pid.json`` on a later turn, and so launches a batch without waiting for
            each shim's interpreter to start. A starting shim counts as ``running``.
    """

    kind = "local"

    def __init__(
        self,
        python: str = sys.executable,
        *,
        grace: float = 10.0,
        startup_timeout: float = 60.0,
        wait_started: bool = True,
    ) -> None:
        self.python = python
        self.wait_started = wait_started
        self.grace = grace
        self.startup_timeout = startup_timeout
        # Shims this process started: polled so that they never stay zombies.
        self._shims: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    # -- Executor --------------------------------------------------------------------------

    def launch(self, spec: LaunchSpec) -> RunRef:
        if "\0" in spec.command:
            raise ValidationError("the command contains a NUL byte", field="command")
        exec_dir = spec.exec_dir.resolve()
        exec_dir.mkdir(parents=True, exist_ok=True)
        if self._used(exec_dir):
            raise ConflictError(
                f"{exec_dir}: this execution folder already holds a run; adopt it instead"
            )
        env = {**spec.env, "PYTHONUNBUFFERED": "1"}
        argv = [
            self.python,
            "-m",
            SHIM_MODULE,
            "--dir",
            str(exec_dir),
            "--cwd",
            str(spec.cwd.resolve()),
            "--grace",
            repr(float(self.grace)),
            "--",
            "/bin/sh",
            "-c",
            spec.command,
        ]
        self._reap()
        with open(exec_dir / files.SHIM_LOG, "ab") as log:
            proc = subprocess.Popen(
                argv,
                cwd=_package_parent(),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        with self._lock:
            self._shims[proc.pid] = proc
        if self.wait_started:
            self._wait_started(exec_dir, proc)
        return {
            "kind": self.kind,
            "exec_dir": str(exec_dir),
            "shim_pid": proc.pid,
            "host": socket.gethostname(),
        }

    def state(self, ref: RunRef) -> RunState:
        self._reap()
        exec_dir = _exec_dir(ref)
        if (exec_dir / files.EXIT).exists():
            return "exited"
        if files.lock_held(exec_dir):
            return "running"
        # The shim writes exit.json before its lock goes: look again, it may just have ended.
        if (exec_dir / files.EXIT).exists():
            return "exited"
        if self._starting(ref):
            return "running"
        if (exec_dir / files.EXIT).exists():
            return "exited"
        return "lost"

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds, waking as soon as a shim of this process exits.

        The engine calls this between turns: a short execution frees its slot at once instead
        of at the next polling tick (pidfds on Linux; a plain sleep elsewhere).
        """
        with self._lock:
            procs = [p for p in self._shims.values() if p.returncode is None]
        fds: list[int] = []
        try:
            for proc in procs:
                with contextlib.suppress(OSError, AttributeError):
                    fds.append(os.pidfd_open(proc.pid))
            if not fds:
                time.sleep(timeout)
                return
            select.select(fds, [], [], timeout)
        finally:
            for fd in fds:
                os.close(fd)

    def _starting(self, ref: RunRef) -> bool:
        """A shim this process started that is still alive but has not taken its lock yet."""
        shim_pid = ref.get("shim_pid")
        with self._lock:
            proc = self._shims.get(shim_pid) if isinstance(shim_pid, int) else None
        return proc is not None and proc.poll() is None

    def exit_info(self, ref: RunRef) -> ExitInfo | None:
        return files.read_exit_info(_exec_dir(ref))

    def stop(self, ref: RunRef, grace: float = 10.0) -> None:
        """Return at once; the shim SIGTERMs the group and SIGKILLs it after ``grace`` seconds.

        When the shim is gone (``lost``), the group is signalled from here and a daemon thread
        SIGKILLs it after ``grace``; if this process ends first, ``cleanup_lost`` finishes it.
        """
        exec_dir = _exec_dir(ref)
        if self.state(ref) == "exited":
            return
        _check_host(ref)
        grace = max(0.0, float(grace))
        files.write_json_atomic(
            exec_dir / files.STOP, {"grace": grace, "requested_at": utc_now().isoformat()}
        )
        info = files.read_child_info(exec_dir)
        if files.lock_held(exec_dir):
            self._signal_shim(ref, info)
            return
        if info is not None and process_group.kill_recorded_group(info, signal.SIGTERM):
            timer = threading.Timer(grace, process_group.kill_recorded_group, args=(info,))
            timer.daemon = True
            timer.start()

    def adopt(self, exec_dir: Path) -> RunRef | None:
        """The ref of the run in ``exec_dir`` (running, exited or lost), or ``None`` if none."""
        exec_dir = exec_dir.resolve()
        deadline = time.monotonic() + self.startup_timeout
        # A shim that holds the lock without pid.json is starting its command: wait for it.
        while not (exec_dir / files.PID).exists() and not (exec_dir / files.EXIT).exists():
            if not files.lock_held(exec_dir) or time.monotonic() > deadline:
                return None
            time.sleep(_LAUNCH_POLL)
        info = files.read_child_info(exec_dir)
        return {
            "kind": self.kind,
            "exec_dir": str(exec_dir),
            "shim_pid": info.shim_pid if info else None,
            "host": info.host if info else socket.gethostname(),
        }

    def cleanup_lost(self, ref: RunRef, wait: float = 5.0) -> None:
        """SIGKILL what remains of a ``lost`` run's group, and wait (up to ``wait``) until gone."""
        if self.state(ref) != "lost":
            return
        info = self.child_info(ref)
        if info is None or not self.kill_group(ref):
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and process_group.group_alive(info.pgid):
            time.sleep(0.01)

    def close(self) -> None:
        self._reap()

    # -- local extras ----------------------------------------------------------------------

    def child_info(self, ref: RunRef) -> ChildInfo | None:
        """The shim's process record (``pid.json``), or ``None`` before the command started."""
        return files.read_child_info(_exec_dir(ref))

    def heartbeat(self, ref: RunRef) -> float | None:
        """When the shim last showed it was alive (epoch seconds)."""
        return files.heartbeat_time(_exec_dir(ref))

    def kill_group(self, ref: RunRef) -> bool:
        """SIGKILL the run's process group now, if it is still the run's; ``True`` if signalled.

        For leftovers of a shim that vanished; a live shim is stopped with :meth:`stop`.
        """
        info = self.child_info(ref)
        if info is None:
            return False
        _check_host(ref)
        return process_group.kill_recorded_group(info, signal.SIGKILL)

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _used(exec_dir: Path) -> bool:
        return (
            (exec_dir / files.PID).exists()
            or (exec_dir / files.EXIT).exists()
            or files.lock_held(exec_dir)
        )

    def _wait_started(self, exec_dir: Path, proc: subprocess.Popen[bytes]) -> None:
        """Return once the shim has started the command (or recorded that it could not)."""
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if (exec_dir / files.PID).exists() or (exec_dir / files.EXIT).exists():
                return
            code = proc.poll()
            if code is not None:
                if (exec_dir / files.PID).exists() or (exec_dir / files.EXIT).exists():
                    return
                self._launch_failed(exec_dir, code)
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise HyperstepError(
                    f"{exec_dir}: the runner did not start the command within "
                    f"{self.startup_timeout:g} s; see {exec_dir / files.SHIM_LOG}"
                )
            time.sleep(_LAUNCH_POLL)

    @staticmethod
    def _launch_failed(exec_dir: Path, code: int) -> None:
        log = exec_dir / files.SHIM_LOG
        try:
            detail = log.read_text(errors="replace").strip()[-2000:]
        except OSError:
            detail = ""
        if code in (files.EXIT_LOCKED, files.EXIT_ALREADY_RAN):
            raise ConflictError(f"{exec_dir}: {detail or 'the folder is used by another run'}")
        raise HyperstepError(
            f"{exec_dir}: the runner exited with status {code} before starting the command"
            + (f":\n{detail}" if detail else f"; see {log}")
        )

    def _signal_shim(self, ref: RunRef, info: ChildInfo | None) -> None:
        if info is not None:
            if process_group.same_process(info.shim_pid, info.shim_create_time):
                os.kill(info.shim_pid, signal.SIGTERM)
            return
        # pid.json not written yet: the shim is starting, and it is the one this ref started.
        shim_pid = ref.get("shim_pid")
        if isinstance(shim_pid, int):
            with contextlib.suppress(ProcessLookupError):
                os.kill(shim_pid, signal.SIGTERM)

    def _reap(self) -> None:
        with self._lock:
            for pid, proc in list(self._shims.items()):
                if proc.poll() is not None:
                    del self._shims[pid]


def _exec_dir(ref: RunRef) -> Path:
    try:
        return Path(ref["exec_dir"])
    except (KeyError, TypeError) as exc:
        raise ValidationError(f"not a run reference: {ref!r}", field="exec_dir") from exc


def _check_host(ref: RunRef) -> None:
    host = ref.get("host")
    if host is not None and host != socket.gethostname():
        raise ConflictError(
            f"{ref.get('exec_dir')}: the run is on host {host!r}, not {socket.gethostname()!r}; "
            "stop it from there"
        )
