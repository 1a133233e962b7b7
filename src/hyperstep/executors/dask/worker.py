"""The worker side of the Dask executor: runs executions under the runner shim on a Dask worker.

Each execution is one Dask task, :func:`run_execution`, which holds its worker slot for as long
as the execution runs. It claims the run, prepares a worker-local execution folder
(``<worker dir>/hyperstep/runs/<run id>/``: ``config/``, ``inputs/``, ``outputs/``, the logs,
``pid.json``, ``exit.json``: the runtime contract), starts the runner shim there exactly as the
local executor does, and waits for it. Everything else the engine asks is answered by small
functions the engine runs on the worker with ``Client.run`` (in the worker's event loop, so each
returns at once): :func:`pull` (new output from given offsets, the process record, and the result
once every byte before it has been pulled), :func:`stop_runs`, :func:`kill_runs`, :func:`forget`,
:func:`pack_outputs` and :func:`kill_recorded`.

The shim is started through ``setpriv --pdeathsig TERM`` when the system has it (Linux
util-linux): if the worker process dies, the shim is told at once and ends the command's process
group, so a retry elsewhere never overlaps an orphan. The engine also kills such leftovers from
another worker of the same host (:func:`kill_recorded`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hyperstep
from hyperstep.executors import exec_dir as files
from hyperstep.executors import process_group
from hyperstep.executors.base import ChildInfo, ExitInfo, utc_now
from hyperstep.executors.dask import project_archive
from hyperstep.executors.dask.protocol import (
    ANY_WORKER,
    WORKER_VAR,
    PullReply,
    RunPayload,
    claim_name,
)

SHIM_MODULE = "hyperstep.executors.shim"
#: Ended runs the engine never acknowledged are deleted after this long.
_KEEP_ENDED = 3600.0
#: How long the claim round trips to the scheduler may take before the run is refused.
_CLAIM_TIMEOUT = 30.0


def _package_parent() -> Path:
    """Where this worker's ``hyperstep`` package lives: the shim runs from there (``-m``)."""
    return Path(hyperstep.__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def _pdeathsig_prefix() -> tuple[str, ...]:
    """``setpriv --pdeathsig TERM --`` when this system's setpriv supports it, else nothing."""
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    if setpriv is None:
        return ()
    prefix = (setpriv, "--pdeathsig", "TERM", "--")
    try:
        ok = subprocess.run(
            [*prefix, "/bin/true"], capture_output=True, timeout=10, check=False
        ).returncode
    except (OSError, subprocess.SubprocessError):
        return ()
    return prefix if ok == 0 else ()


def rewrite_env(env: Mapping[str, str], moves: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``env`` with every value under an engine folder moved under the worker's folder."""
    out: dict[str, str] = {}
    for name, value in env.items():
        for old, new in moves:
            old = old.rstrip("/") or "/"
            if value == old:
                value = new
                break
            if value.startswith(old + "/"):
                value = new + value[len(old) :]
                break
        out[name] = value
    return out


@dataclass
class WorkerRun:
    """One execution on this worker."""

    run_id: str
    dir: Path
    registered: float
    proc: subprocess.Popen[bytes] | None = None
    ended: float | None = None
    stop_requested: bool = False
    lost: str | None = None
    child: dict[str, Any] | None = None


class WorkerAgent:
    """The runs of one worker process; thread-safe (task threads and the event loop use it)."""

    def __init__(self, base: Path, address: str) -> None:
        self.base = base
        self.address = address
        self.lock = threading.Lock()
        self.runs: dict[str, WorkerRun] = {}
        #: stop requests by run id, including runs not registered yet: (grace, when)
        self.cancelled: dict[str, tuple[float, float]] = {}

    # -- running (in a task thread) --------------------------------------------------------

    def run(
        self, payload: RunPayload, archive: bytes | None, claim: Callable[[], bool]
    ) -> dict[str, Any]:
        run_id = payload.run_id
        self._prune()
        if not claim():
            return {"outcome": "refused", "reason": "the run was claimed or stopped elsewhere"}
        with self.lock:
            if run_id in self.cancelled:
                return {"outcome": "refused", "reason": "stopped before it started"}
            if run_id in self.runs:
                return {"outcome": "refused", "reason": "already running on this worker"}
            run = WorkerRun(run_id, self.base / "runs" / run_id, time.time())
            self.runs[run_id] = run
        try:
            proc = self._start(run, payload, archive)
        except Exception as exc:  # recorded as the run's result: the engine reports it
            self._record_failure(run, f"hyperstep: could not start on worker {self.address}: {exc}")
            return {"outcome": "failed", "error": str(exc)}
        with self.lock:
            run.proc = proc
            pending = self.cancelled.get(run_id)
        if pending is not None:
            self.stop(run_id, pending[0])
        try:
            proc.wait()
            self._settle(run, proc)
        finally:
            if run.ended is None:  # _settle failed: whatever happened, the run is over
                run.lost = run.lost or f"the runner on worker {self.address} ended unrecorded"
                run.ended = time.time()
        return {"outcome": "ended", "exit": files.read_json(run.dir / files.EXIT)}

    def _start(
        self, run: WorkerRun, payload: RunPayload, archive: bytes | None
    ) -> subprocess.Popen[bytes]:
        if payload.hyperstep_version and payload.hyperstep_version != hyperstep.__version__:
            raise RuntimeError(
                f"this worker runs hyperstep {hyperstep.__version__}, the engine "
                f"{payload.hyperstep_version}; install the same version on both"
            )
        exec_dir = run.dir
        for sub in ("config", "inputs", "outputs"):
            (exec_dir / sub).mkdir(parents=True, exist_ok=True)
        for rel, content in payload.files.items():
            target = (exec_dir / rel).resolve()
            if exec_dir.resolve() not in target.parents:
                raise ValueError(f"refusing to write {rel!r} outside the execution folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        if payload.code.mode == "archive":
            if archive is None or payload.code.sha is None:
                raise ValueError("the project archive did not reach this worker")
            code = project_archive.unpack(self.base / "code", payload.code.sha, archive)
            cwd = exec_dir / "repository"
            project_archive.copy_tree(code, cwd)
        else:
            cwd = Path(payload.code.path or payload.engine_root)
            if not cwd.is_dir():
                raise FileNotFoundError(
                    f"the shared project folder {cwd} does not exist on this worker"
                )
        env = dict(os.environ)
        env.update(
            rewrite_env(
                payload.env,
                [(payload.engine_exec_dir, str(exec_dir)), (payload.engine_root, str(cwd))],
            )
        )
        env[WORKER_VAR] = self.address
        env["PYTHONUNBUFFERED"] = "1"
        argv = [
            *_pdeathsig_prefix(),
            sys.executable,
            "-m",
            SHIM_MODULE,
            "--dir",
            str(exec_dir),
            "--cwd",
            str(cwd),
            "--grace",
            repr(float(payload.grace)),
            "--",
            "/bin/sh",
            "-c",
            payload.command,
        ]
        with open(exec_dir / files.SHIM_LOG, "ab") as log:
            return subprocess.Popen(
                argv,
                cwd=_package_parent(),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )

    def _settle(self, run: WorkerRun, proc: subprocess.Popen[bytes]) -> None:
        """After the shim ended: a shim that left no result is ``lost`` (or ``stopped``)."""
        if not (run.dir / files.EXIT).exists():
            info = files.read_child_info(run.dir)
            if info is not None:
                process_group.kill_recorded_group(info, signal.SIGKILL)
            code = proc.returncode
            if run.stop_requested:
                now = utc_now()
                result = ExitInfo(
                    exit_code=None,
                    signal=-code if code is not None and code < 0 else signal.SIGTERM,
                    start_time=now,
                    end_time=now,
                    stop_requested=True,
                    error="stopped while the runner was starting",
                )
                files.write_json_atomic(run.dir / files.EXIT, result.to_json())
            else:
                run.lost = (
                    f"the runner on worker {self.address} ended with status {code} "
                    "without recording a result"
                )
        run.ended = time.time()

    def _record_failure(self, run: WorkerRun, message: str) -> None:
        run.dir.mkdir(parents=True, exist_ok=True)
        with open(run.dir / files.STDERR, "ab") as err:
            err.write(message.encode(errors="replace") + b"\n")
        now = utc_now()
        info = ExitInfo(
            exit_code=files.EXIT_SPAWN_FAILED,
            signal=None,
            start_time=now,
            end_time=now,
            error=message,
        )
        files.write_json_atomic(run.dir / files.EXIT, info.to_json())
        run.ended = time.time()

    def _prune(self) -> None:
        now = time.time()
        with self.lock:
            stale = [
                r for r in self.runs.values() if r.ended is not None and now - r.ended > _KEEP_ENDED
            ]
            for run in stale:
                del self.runs[run.run_id]
            for run_id, (_, when) in list(self.cancelled.items()):
                if now - when > _KEEP_ENDED and run_id not in self.runs:
                    del self.cancelled[run_id]
        for run in stale:
            shutil.rmtree(run.dir, ignore_errors=True)

    # -- answering the engine (in the event loop: nothing here may block) ------------------

    def pull(
        self, requests: Mapping[str, Sequence[int]], specific: set[str], max_bytes: int
    ) -> dict[str, PullReply]:
        replies: dict[str, PullReply] = {}
        for run_id, offsets in requests.items():
            with self.lock:
                run = self.runs.get(run_id)
            if run is None:
                if run_id in specific:
                    replies[run_id] = PullReply(state="unknown")
                continue
            replies[run_id] = self._pull_one(run, int(offsets[0]), int(offsets[1]), max_bytes)
        return replies

    def _pull_one(self, run: WorkerRun, out_offset: int, err_offset: int, budget: int) -> PullReply:
        if run.child is None:
            run.child = files.read_json(run.dir / files.PID)
        ended = run.ended
        result = files.read_json(run.dir / files.EXIT)
        out, out_size = _read_range(run.dir / files.STDOUT, out_offset, budget)
        err, err_size = _read_range(run.dir / files.STDERR, err_offset, budget)
        complete = out_offset + len(out) >= out_size and err_offset + len(err) >= err_size
        reply = PullReply(state="running", stdout=out, stderr=err, child=run.child)
        if result is not None:
            reply.state = "ended"
            if complete:
                reply.exit = result
                reply.outputs_bytes = _tree_size(run.dir / "outputs")
        elif ended is not None:
            reply.state = "ended"
            reply.extra["lost"] = (
                run.lost or f"the run ended on worker {self.address} without a result"
            )
        elif run.proc is None:
            reply.state = "starting"
        reply.more = not complete
        return reply

    def stop(self, run_id: str, grace: float, *, kill: bool = False) -> bool:
        """Stop a run (or forbid its start); ``True`` if this worker has it."""
        with self.lock:
            previous = self.cancelled.get(run_id)
            grace = min(grace, previous[0]) if previous else grace
            self.cancelled[run_id] = (grace, time.time())
            run = self.runs.get(run_id)
            if run is None:
                return False
            proc = run.proc
            if proc is None or run.ended is not None:
                return True
            run.stop_requested = True
        if not (run.dir / files.EXIT).exists():
            files.write_json_atomic(
                run.dir / files.STOP, {"grace": grace, "requested_at": utc_now().isoformat()}
            )
            with contextlib.suppress(ProcessLookupError):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            if kill:
                info = files.read_child_info(run.dir)
                if info is not None:
                    process_group.kill_recorded_group(info, signal.SIGKILL)
        return True

    def forget(self, run_ids: Sequence[str]) -> int:
        gone = []
        with self.lock:
            for run_id in run_ids:
                run = self.runs.get(run_id)
                if run is not None and run.ended is not None:
                    gone.append(self.runs.pop(run_id))
                    self.cancelled.pop(run_id, None)

        def remove() -> None:
            for run in gone:
                shutil.rmtree(run.dir, ignore_errors=True)

        if gone:
            threading.Thread(target=remove, name="hyperstep-forget", daemon=True).start()
        return len(gone)


def _read_range(path: Path, offset: int, budget: int) -> tuple[bytes, int]:
    """Up to ``budget`` bytes of ``path`` from ``offset``, and the file's size."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if offset >= size:
                return b"", size
            handle.seek(offset)
            return handle.read(min(budget, size - offset)), size
    except FileNotFoundError:
        return b"", 0


def _tree_size(folder: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


_AGENTS: dict[str, WorkerAgent] = {}
_AGENTS_LOCK = threading.Lock()


def agent_of(worker: Any) -> WorkerAgent:
    """The agent of a ``distributed.Worker`` (one per worker, made on first use)."""
    address = str(worker.address)
    with _AGENTS_LOCK:
        agent = _AGENTS.get(address)
        if agent is None:
            base = Path(worker.local_directory) / "hyperstep"
            agent = _AGENTS[address] = WorkerAgent(base, address)
        return agent


def _claim(worker: Any, run_id: str) -> bool:
    """Set the run's claim on the scheduler unless it is set already; ``True`` when taken.

    Not one atomic step, and it need not be: Dask re-runs a task only after the worker that had
    it left the cluster, and the engine sets a claim only to forbid a start.
    """

    async def test_and_set() -> bool:
        name = claim_name(run_id)
        if await worker.scheduler.event_is_set(name=name):
            return False
        await worker.scheduler.event_set(name=name)
        return True

    future = asyncio.run_coroutine_threadsafe(test_and_set(), worker.loop.asyncio_loop)
    return bool(future.result(timeout=_CLAIM_TIMEOUT))


# -- the functions the engine runs on workers -------------------------------------------------


def run_execution(payload: RunPayload, archive: bytes | None) -> dict[str, Any]:
    """The Dask task of one execution: returns when its process has ended."""
    from distributed import get_worker

    worker = get_worker()
    return agent_of(worker).run(payload, archive, lambda: _claim(worker, payload.run_id))


def pull(
    requests: Mapping[str, Mapping[str, Sequence[int]]], max_bytes: int, dask_worker: Any = None
) -> dict[str, PullReply]:
    """New output of the runs asked of this worker (by address) or of every worker (``*``)."""
    mine = dict(requests.get(ANY_WORKER, {}))
    specific = dict(requests.get(str(dask_worker.address), {}))
    mine.update(specific)
    return agent_of(dask_worker).pull(mine, set(specific), max_bytes)


def stop_runs(requests: Mapping[str, float], dask_worker: Any = None) -> list[str]:
    """Stop runs (SIGTERM, SIGKILL after each grace period); the ids this worker has."""
    agent = agent_of(dask_worker)
    return [run_id for run_id, grace in requests.items() if agent.stop(run_id, grace)]


def kill_runs(run_ids: Sequence[str], dask_worker: Any = None) -> list[str]:
    """SIGKILL runs now (and forbid their start); the ids this worker has."""
    agent = agent_of(dask_worker)
    return [run_id for run_id in run_ids if agent.stop(run_id, 0.0, kill=True)]


def forget(run_ids: Sequence[str], dask_worker: Any = None) -> int:
    """Delete ended runs the engine has recorded; how many were deleted."""
    return agent_of(dask_worker).forget(run_ids)


async def pack_outputs(run_id: str, limit: int, dask_worker: Any = None) -> bytes | None:
    """The run's ``outputs/`` as a ``tar.gz`` (``None`` when larger than ``limit`` bytes)."""
    agent = agent_of(dask_worker)
    with agent.lock:
        run = agent.runs.get(run_id)
    if run is None:
        return None
    return await asyncio.to_thread(_pack, run.dir / "outputs", limit)


def _pack(folder: Path, limit: int) -> bytes | None:
    if _tree_size(folder) > limit:
        return None
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
            tar.add(str(entry), arcname=entry.name)
    return buffer.getvalue()


async def kill_recorded(child: Mapping[str, Any], wait: float = 5.0) -> bool:
    """SIGKILL a run's process group and shim by their record (``pid.json``) if they are on
    this host and still the run's; ``True`` once none of it is alive."""
    info = ChildInfo.from_json(dict(child))
    if info.host != socket.gethostname():
        return False
    process_group.kill_recorded_group(info, signal.SIGKILL)
    if process_group.same_process(info.shim_pid, info.shim_create_time):
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.shim_pid, signal.SIGKILL)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not (process_group.owns_group(info) and process_group.group_alive(info.pgid)):
            return True
        await asyncio.sleep(0.05)
    return False


def describe(dask_worker: Any = None) -> dict[str, Any]:
    """This worker's hyperstep version, host and resources (checked by the engine)."""
    return {
        "hyperstep": hyperstep.__version__,
        "python": sys.version.split()[0],
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "resources": dict(dask_worker.state.total_resources),
    }
