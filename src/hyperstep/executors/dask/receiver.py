"""The engine side of a Dask run's output: a thread that pulls it from the workers into files.

The engine ingests every execution from ``stdout.log``, ``stderr.log`` and ``exit.json`` in the
execution folder on *its* machine. For a run on a Dask worker, this thread makes those files
appear there while the run goes on: it asks each worker that has runs for their new bytes,
starting at the sizes of the engine-side files, and appends what comes back. A run that prints
is asked every ``interval`` seconds (50 ms); a quiet one less and less often, up to every
``max_interval`` (0.2 s); the end of its task, or a stop, gets it asked at once. The offsets
live in the files themselves, so a restarted engine resumes exactly where the files end: no
byte is lost or written twice.

``exit.json`` is written only when the worker reports the result *and* the last bytes before it,
so an engine that sees ``exit.json`` has the whole output. A run whose worker left the cluster,
forgot it, or never turns up is ``lost``; the supervisor then records the crash (and may retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import queue
import signal
import tarfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hyperstep.executors import exec_dir as files
from hyperstep.executors.base import ExitInfo, RunRef, utc_now
from hyperstep.executors.dask import worker as remote
from hyperstep.executors.dask.protocol import ANY_WORKER, PullReply, claim_name

log = logging.getLogger(__name__)

Status = Literal["running", "exited", "lost"]
#: Broadcast rounds without any worker reporting a run before it counts as gone.
_UNSEEN_ROUNDS = 2
_RPC_TIMEOUT = 30.0
#: How often the list of the cluster's workers is refreshed while runs go on.
_MEMBERS_EVERY = 0.5
#: How long one call on one worker may take; a live worker answers in milliseconds.
_WORKER_TIMEOUT = 3.0
#: How long a lost run is remembered (the engine asks about it once or twice, at once).
_KEEP_LOST = 600.0


@dataclass
class Run:
    """What the engine knows of one run on the cluster."""

    ref: RunRef
    run_id: str
    exec_dir: Path
    future: Any = None
    home: str | None = None
    child_written: bool = False
    out_size: int = 0
    err_size: int = 0
    status: Status = "running"
    lost_reason: str | None = None
    stop_grace: float | None = None
    #: broadcast rounds that did not find the run since it should have been found
    unseen: int = 0
    #: the Dask task is over (ended, refused or cancelled): only pulls can tell more now
    task_over: bool = False
    adopted: bool = False
    created: float = field(default_factory=time.monotonic)
    ended: float = 0.0
    #: when to pull it next, and the current pause between pulls (longer while it is quiet)
    due: float = 0.0
    interval: float = 0.05

    @classmethod
    def open(cls, ref: RunRef, exec_dir: Path, **kwargs: Any) -> Run:
        run = cls(ref=ref, run_id=str(ref["run_id"]), exec_dir=exec_dir, **kwargs)
        run.out_size = _size(exec_dir / files.STDOUT)
        run.err_size = _size(exec_dir / files.STDERR)
        run.child_written = (exec_dir / files.PID).exists()
        if run.child_written:
            child = files.read_json(exec_dir / files.PID) or {}
            worker = child.get("worker")
            run.home = str(worker) if worker else None
        return run


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class Receiver:
    """Pulls the output of every running run; the only writer of the engine-side run files."""

    def __init__(
        self,
        client: Any,
        scheduler: str,
        *,
        interval: float = 0.05,
        max_interval: float = 0.2,
        chunk: int = 1 << 20,
        outputs_limit: int = 256 << 20,
        lost_timeout: float = 60.0,
    ) -> None:
        self.client = client
        self.scheduler = scheduler
        self.interval = interval
        self.max_interval = max(interval, max_interval)
        self.chunk = chunk
        self.outputs_limit = outputs_limit
        self.lost_timeout = lost_timeout
        self.lock = threading.Lock()
        self.runs: dict[str, Run] = {}
        self.wake = threading.Event()
        #: set whenever output arrived or a run ended: the engine's wait ends early
        self.changed = threading.Event()
        self._commands: queue.SimpleQueue[tuple[str, str, float]] = queue.SimpleQueue()
        self._closing = threading.Event()
        self._forget: dict[str, list[str]] = {}
        self._unreachable_since: float | None = None
        self._members_cache: tuple[float, set[str]] | None = None
        #: workers whose last call failed or timed out (are they still in the cluster?)
        self._failed: set[str] = set()
        self._thread = threading.Thread(
            target=self._loop, name="hyperstep-dask-receiver", daemon=True
        )
        self._thread.start()

    # -- called from the engine's thread ---------------------------------------------------

    def add(self, run: Run) -> None:
        run.interval = self.interval
        with self.lock:
            self.runs[run.run_id] = run
        if run.future is not None:
            run.future.add_done_callback(lambda _future: self.poke(run))
        self.wake.set()

    def poke(self, run: Run) -> None:
        """Pull ``run`` at the next tick, now."""
        run.due = 0.0
        self.wake.set()

    def get(self, run_id: str) -> Run | None:
        with self.lock:
            return self.runs.get(run_id)

    def request_stop(self, run_id: str, grace: float, *, kill: bool = False) -> None:
        self._commands.put(("kill" if kill else "stop", run_id, grace))
        self.wake.set()

    def close(self, timeout: float = 10.0) -> None:
        self._closing.set()
        self.wake.set()
        self._thread.join(timeout)
        with contextlib.suppress(Exception):
            self._flush_forget()

    # -- the loop --------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._closing.is_set():
            self.wake.wait(self.interval)
            self.wake.clear()
            if self._closing.is_set():
                break
            try:
                self.tick()
                self._unreachable_since = None
            except (OSError, asyncio.TimeoutError, TimeoutError) as exc:
                self._unreachable(exc)
            except Exception:  # never let one bad reply stop every run's output
                log.exception("hyperstep: pulling output from the Dask cluster failed")
                time.sleep(self.interval)

    def tick(self) -> None:
        """One round: stop requests, pulls, task outcomes, acknowledgements."""
        self._run_commands()
        with self.lock:
            active = [run for run in self.runs.values() if run.status == "running"]
        if active:
            now = time.monotonic()
            due = [run for run in active if run.due <= now]
            if due:
                self._pull(due)
            self._check_tasks(active)
        self._flush_forget()

    def members(self, *, fresh: bool = False) -> set[str]:
        """The cluster's workers, asked of the scheduler at most every ``_MEMBERS_EVERY`` s
        (or now, with ``fresh``)."""
        now = time.monotonic()
        cached = self._members_cache
        if fresh or cached is None or now - cached[0] > _MEMBERS_EVERY:
            cached = (now, set(self.client.nthreads(callback_timeout=_RPC_TIMEOUT)))
            self._members_cache = cached
        return cached[1]

    def on_workers(
        self,
        function: Callable[..., Any],
        *args: Any,
        workers: Iterable[str],
        timeout: float = _WORKER_TIMEOUT,
    ) -> dict[str, Any]:
        """``function(*args)`` on each worker at once, each call bounded by ``timeout``.

        Replies by worker; a worker that failed or did not answer in time is left out, so a
        dead worker (whose address Dask keeps trying until its connect timeout) delays only
        its own runs, and only once: its absence makes the caller ask who is still there.
        """
        client = self.client
        targets = sorted(set(workers))
        if not targets:
            return {}

        async def one(address: str) -> tuple[str, Any]:
            try:
                reply = await client.run(
                    function,
                    *args,
                    workers=[address],
                    on_error="return",
                    asynchronous=True,
                    callback_timeout=timeout,
                )
            except (OSError, asyncio.TimeoutError, TimeoutError) as exc:
                return address, exc
            return address, reply.get(address, OSError(f"no reply from {address}"))

        async def every() -> list[tuple[str, Any]]:
            return list(await asyncio.gather(*(one(a) for a in targets)))

        replies: dict[str, Any] = {}
        for address, reply in client.sync(every, callback_timeout=timeout + _RPC_TIMEOUT):
            if isinstance(reply, BaseException):
                log.debug(
                    "%s on %s failed: %r", getattr(function, "__name__", function), address, reply
                )
                self._failed.add(address)
            else:
                replies[address] = reply
        return replies

    def _pull(self, active: list[Run]) -> None:
        members = self.members(fresh=bool(self._failed))
        self._failed.clear()
        requests: dict[str, dict[str, list[int]]] = {}
        homeless: list[Run] = []
        for run in active:
            if run.home is not None and run.home not in members:
                self._lose(run, f"its worker {run.home} left the cluster")
                continue
            if run.home is None:
                homeless.append(run)
            requests.setdefault(run.home or ANY_WORKER, {})[run.run_id] = [
                run.out_size,
                run.err_size,
            ]
        if not requests:
            return
        workers = members if homeless else set(requests) - {ANY_WORKER}
        before = {run.run_id: (run.out_size, run.err_size) for run in active}
        replies = self.on_workers(remote.pull, requests, self.chunk, workers=workers)
        seen: set[str] = set()
        for address, reply in replies.items():
            for run_id, item in reply.items():
                if item.state != "unknown":
                    seen.add(run_id)
                self._apply(address, run_id, item)
        if self._failed:
            self.wake.set()  # ask at once whether the silent workers are still there
        now = time.monotonic()
        for run in active:
            # a quiet run is asked less and less often (up to max_interval); output, the end
            # of its task or a stop make it asked at once again
            quiet = before.get(run.run_id) == (run.out_size, run.err_size)
            run.interval = min(self.max_interval, run.interval * 2) if quiet else self.interval
            run.due = now + run.interval
        every_worker_answered = not self._failed
        for run in homeless:
            gone = run.home is None and run.run_id not in seen and (run.task_over or run.adopted)
            if gone and every_worker_answered:
                run.unseen += 1

    def _apply(self, address: str, run_id: str, reply: PullReply) -> None:
        run = self.get(run_id)
        if run is None or run.status != "running":
            return
        if run.home is None:
            if reply.state == "unknown":
                return
            run.home = address
        elif run.home != address:
            # Dask started the task a second time (its first worker looked dead): never two.
            log.warning("run %s also started on %s; killing it there", run_id, address)
            self.on_workers(remote.kill_runs, [run_id], workers=[address])
            return
        if reply.state == "unknown":
            self._lose(run, f"its worker {address} no longer knows it (restarted?)")
            return
        if reply.child is not None and not run.child_written:
            files.write_json_atomic(run.exec_dir / files.PID, {**reply.child, "worker": address})
            run.child_written = True
        if reply.stdout:
            run.out_size = _append(run.exec_dir / files.STDOUT, run.out_size, reply.stdout)
            self.changed.set()
        if reply.stderr:
            run.err_size = _append(run.exec_dir / files.STDERR, run.err_size, reply.stderr)
            self.changed.set()
        lost = reply.extra.get("lost")
        if lost:
            self._lose(run, str(lost))
        elif reply.exit is not None:
            if reply.outputs_bytes:
                self._fetch_outputs(run, address, reply.outputs_bytes)
            files.write_json_atomic(run.exec_dir / files.EXIT, reply.exit)
            self._ended(run, "exited")
        if reply.more:
            self.wake.set()

    def _check_tasks(self, active: list[Run]) -> None:
        """Runs whose Dask task is over but that no worker reports: refused, cancelled, gone."""
        for run in active:
            if run.status != "running":
                continue
            future = run.future
            if future is not None and not run.task_over and future.done():
                run.task_over = True
                run.unseen = 0
                if future.status == "error" and run.home is None:
                    self._lose(run, f"its Dask task failed: {_error_of(future)}")
                    continue
                self.poke(run)  # look for it (everywhere, if its worker is unknown) once more
            if run.home is None and run.unseen >= (1 if run.task_over else _UNSEEN_ROUNDS):
                if run.stop_grace is not None:
                    self._stopped_before_start(run)
                else:
                    self._lose(run, _why_unseen(run))

    # -- stopping --------------------------------------------------------------------------

    def _run_commands(self) -> None:
        while True:
            try:
                what, run_id, grace = self._commands.get_nowait()
            except queue.Empty:
                return
            run = self.get(run_id)
            if run is None or run.status != "running":
                continue
            run.due = 0.0
            run.stop_grace = grace if run.stop_grace is None else min(run.stop_grace, grace)
            if run.home is None:
                self.set_claim(run_id)  # a task that has not started never will
                if run.future is not None:
                    run.future.cancel()
            function: Callable[..., Any]
            argument: Any
            if what == "kill":
                function, argument = remote.kill_runs, [run_id]
            else:
                function, argument = remote.stop_runs, {run_id: grace}
            workers = [run.home] if run.home else self.members()
            self.on_workers(function, argument, workers=workers)

    def _stopped_before_start(self, run: Run) -> None:
        now = utc_now()
        info = ExitInfo(
            exit_code=None,
            signal=int(signal.SIGTERM),
            start_time=now,
            end_time=now,
            stop_requested=True,
            error="stopped before it started on a worker",
        )
        files.write_json_atomic(run.exec_dir / files.EXIT, info.to_json())
        self._ended(run, "exited")

    def set_claim(self, run_id: str) -> None:
        self._scheduler_call("event_set", [claim_name(run_id)])

    def clear_claims(self, run_ids: list[str]) -> None:
        self._scheduler_call("event_clear", [claim_name(r) for r in run_ids])

    def _scheduler_call(self, handler: str, names: list[str]) -> None:
        if not names:
            return
        scheduler = self.client.scheduler

        async def call() -> None:
            await asyncio.gather(*(getattr(scheduler, handler)(name=n) for n in names))

        self.client.sync(call, callback_timeout=_RPC_TIMEOUT)

    # -- ends ------------------------------------------------------------------------------

    def _lose(self, run: Run, reason: str) -> None:
        run.lost_reason = reason
        self._ended(run, "lost")

    def _ended(self, run: Run, status: Status) -> None:
        run.status = status
        run.ended = time.monotonic()
        self.changed.set()
        run.future = None  # lets Dask release the task
        if status == "exited" and run.home is not None:
            self._forget.setdefault(run.home, []).append(run.run_id)

    def _flush_forget(self) -> None:
        """Tell workers to delete the runs recorded here, and drop what is no longer needed:
        an exited run is known from its ``exit.json``; a lost one is kept a while, for
        ``state`` and ``lost_reason``."""
        batches, self._forget = self._forget, {}
        for address, run_ids in batches.items():
            self.on_workers(remote.forget, run_ids, workers=[address])
            self.clear_claims(run_ids)
        now = time.monotonic()
        with self.lock:
            for run_id, run in list(self.runs.items()):
                if run.status == "exited" or (
                    run.status == "lost" and now - run.ended > _KEEP_LOST
                ):
                    del self.runs[run_id]

    def _fetch_outputs(self, run: Run, address: str, size: int) -> None:
        replies = self.on_workers(
            remote.pack_outputs,
            run.run_id,
            self.outputs_limit,
            workers=[address],
            timeout=_RPC_TIMEOUT,
        )
        data = replies.get(address, "the worker did not answer")
        outputs = run.exec_dir / "outputs"
        if isinstance(data, bytes):
            outputs.mkdir(parents=True, exist_ok=True)
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(outputs, filter="data")
                else:  # pragma: no cover - Python without extraction filters
                    tar.extractall(outputs)  # noqa: S202  # nosec B202 - made by our worker code
            return
        note = (
            f"outputs/ ({size} bytes) was not copied back from worker {address}: "
            + ("larger than the limit" if data is None else f"{data!r}")
            + "\n"
        )
        with open(run.exec_dir / files.SHIM_LOG, "a", encoding="utf-8") as handle:
            handle.write(note)

    def _unreachable(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self._unreachable_since is None:
            self._unreachable_since = now
            log.warning(
                "hyperstep: the Dask scheduler at %s is unreachable: %s", self.scheduler, exc
            )
        if now - self._unreachable_since < self.lost_timeout:
            time.sleep(min(1.0, self.lost_timeout / 10))
            return
        with self.lock:
            active = [run for run in self.runs.values() if run.status == "running"]
        for run in active:
            self._lose(
                run,
                f"the Dask scheduler at {self.scheduler} was unreachable for "
                f"{self.lost_timeout:g} s",
            )


def _append(path: Path, offset: int, data: bytes) -> int:
    """Append ``data`` that the worker read from ``offset``; the file's new size."""
    with open(path, "ab") as handle:
        size = handle.tell()
        if size != offset:  # only this thread writes here; anything else is a bug
            raise RuntimeError(f"{path} is {size} bytes, expected {offset}")
        handle.write(data)
        return size + len(data)


def _error_of(future: Any) -> str:
    try:
        error = future.exception(timeout=1)
    except Exception as exc:
        return repr(exc)
    return f"{type(error).__name__}: {error}"


def _why_unseen(run: Run) -> str:
    if run.adopted:
        return "no worker of the cluster has it any more"
    future = run.future
    if future is not None and future.status == "finished":
        with contextlib.suppress(Exception):
            result = future.result(timeout=1)
            if isinstance(result, dict) and result.get("outcome") == "refused":
                return f"its Dask task was refused: {result.get('reason')}"
    return "its Dask task ended but no worker has it (the worker may have restarted)"
