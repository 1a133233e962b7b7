"""The Dask executor: each execution runs on a worker of a Dask distributed cluster.

The engine's side of the contract is unchanged: ``launch`` returns a JSON :data:`RunRef`, and the
engine follows ``stdout.log``, ``stderr.log`` and ``exit.json`` in the execution folder on its own
machine, which a :class:`~hyperstep.executors.dask.receiver.Receiver` thread fills from the
worker while the run goes on. On the worker, the execution is a process of the same runner shim
the local executor uses, in a worker-local copy of the execution folder (see
:mod:`hyperstep.executors.dask.worker`).

Differences from the local executor, by design:

* ``launch`` returns once the task is submitted, not once the process runs: the cluster may
  have no free slot yet. ``child_info`` is ``None`` until the run starts on a worker; the
  engine records the pid and host when they appear.
* A run is ``lost`` when its worker leaves the cluster (or forgets it) before the result came
  back; ``cleanup_lost`` kills whatever of it may remain, on any worker of its host.
* ``retries`` (default 1) tells the engine how many times to re-run a lost execution.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import hyperstep
from hyperstep.errors import ConfigError, ConflictError, HyperstepError, ValidationError
from hyperstep.executors import exec_dir as files
from hyperstep.executors.base import ChildInfo, Executor, ExitInfo, LaunchSpec, RunRef, RunState
from hyperstep.executors.dask import project_archive
from hyperstep.executors.dask import worker as remote
from hyperstep.executors.dask.protocol import RUN_FILE, CodeRef, RunPayload, task_key
from hyperstep.executors.dask.receiver import Receiver, Run
from hyperstep.executors.dask.resources import (
    map_onto_workers,
    parse_resources,
    step_requirements,
)
from hyperstep.executors.local import LocalExecutor

SCHEDULER_VAR = "HYPERSTEP_DASK_SCHEDULER"
#: Files of the execution folder shipped with each run (the runtime contract's inputs).
_SHIPPED = ("config", "inputs")
_SHIPPED_LIMIT = 64 << 20
_RESOURCE_CACHE = 5.0


class DaskExecutor(Executor):
    """Runs executions on the workers of the Dask scheduler at ``scheduler``.

    Args:
        scheduler: ``tcp://HOST:PORT``; default ``$HYPERSTEP_DASK_SCHEDULER``, else the
            scheduler a stored run was submitted to, else the project's settings
            (``hyperstep.toml``) or its local cluster (``hyperstep cluster up``).
        resources: what each execution asks of a worker (``"slots=1"``, the default; a step's
            ``resources:`` in ``valohai.yaml`` add to it).
        retries: how many times the engine re-runs an execution whose worker died.
        code: ``archive`` (ship the project, the default) or ``shared`` (the project is on a
            shared filesystem, at ``shared_root`` on the workers, default the same path).
        exclude: extra patterns of project files not to ship (``data/``, ``*.ckpt``).
        forward_env: patterns of engine environment variables to pass to executions
            (``WANDB_*``); the rest of an execution's environment is its worker's.
        grace: seconds between SIGTERM and SIGKILL when a worker dies under a run.
        interval: seconds between two pulls of running executions' output.
        connect_timeout: how long to wait for the scheduler and a first worker.
        config: the project's YAML file, where a step's ``resources`` are read.
    """

    kind = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        resources: str | Mapping[str, Any] | None = None,
        retries: int = 1,
        code: str = "archive",
        shared_root: str | None = None,
        exclude: Sequence[str] = (),
        forward_env: Sequence[str] = (),
        grace: float = 10.0,
        interval: float = 0.05,
        connect_timeout: float = 10.0,
        archive_limit: int = project_archive.DEFAULT_LIMIT,
        outputs_limit: int = 256 << 20,
        config: str = "valohai.yaml",
    ) -> None:
        if code not in ("archive", "shared"):
            raise ValidationError(f"{code!r}: expected archive or shared", field="executor.code")
        try:
            self.retries = int(retries)
        except (TypeError, ValueError):
            raise ValidationError(f"{retries!r} is not a whole number", field="retries") from None
        if self.retries < 0:
            raise ValidationError("must be 0 or more", field="retries")
        self.scheduler = scheduler or os.environ.get(SCHEDULER_VAR) or None
        self.resources = parse_resources(resources, field="resources")
        self._explicit_resources = resources is not None
        self.code = code
        self.shared_root = shared_root
        self.forward_env = tuple(forward_env)
        self.grace = float(grace)
        self.interval = float(interval)
        self.connect_timeout = float(connect_timeout)
        self.outputs_limit = int(outputs_limit)
        self.config = config
        self._archives = project_archive.ArchiveCache(exclude, archive_limit)
        self._archive_futures: dict[str, Any] = {}
        self._local = LocalExecutor(grace=grace)
        self._lock = threading.RLock()
        self._client: Any = None
        self._receiver: Receiver | None = None
        self._offered: tuple[float, set[str]] = (0.0, set())
        self._steps: dict[Path, tuple[int, dict[str, dict[str, Any]]]] = {}
        self._finalizer: weakref.finalize[Any, Any] | None = None

    # -- Executor --------------------------------------------------------------------------

    def launch(self, spec: LaunchSpec) -> RunRef:
        if "\0" in spec.command:
            raise ValidationError("the command contains a NUL byte", field="command")
        exec_dir = spec.exec_dir.resolve()
        exec_dir.mkdir(parents=True, exist_ok=True)
        for name in (RUN_FILE, files.PID, files.EXIT):
            if (exec_dir / name).exists():
                raise ConflictError(
                    f"{exec_dir}: this execution folder already holds a run; adopt it instead"
                )
        client, receiver = self._connect(spec.cwd)
        resources = self._task_resources(spec)
        code, archive = self._code_for(client, spec.cwd)
        run_id = f"{_counter_of(spec)}-{uuid.uuid4().hex[:12]}"
        payload = RunPayload(
            run_id=run_id,
            command=spec.command,
            env=self._env_delta(spec.env),
            files=_shipped_files(exec_dir),
            engine_exec_dir=str(exec_dir),
            engine_root=str(spec.cwd.resolve()),
            code=code,
            grace=self.grace,
            hyperstep_version=hyperstep.__version__,
        )
        ref: RunRef = {
            "kind": self.kind,
            "exec_dir": str(exec_dir),
            "run_id": run_id,
            "key": task_key(run_id),
            "scheduler": receiver.scheduler,
        }
        files.write_json_atomic(exec_dir / RUN_FILE, ref)
        try:
            future = client.submit(
                remote.run_execution,
                payload,
                archive,
                key=task_key(run_id),
                resources=resources or None,
                pure=False,
                retries=0,
            )
        except Exception as exc:
            raise HyperstepError(
                f"could not submit the execution to the Dask scheduler at "
                f"{receiver.scheduler}: {exc}"
            ) from exc
        receiver.add(Run.open(ref, exec_dir, future=future))
        return dict(ref)

    def state(self, ref: RunRef) -> RunState:
        if ref.get("kind") != self.kind:
            return self._local.state(ref)
        exec_dir = _exec_dir(ref)
        if (exec_dir / files.EXIT).exists():
            return "exited"
        run = self._run_of(ref)
        if run is None:
            return "lost"
        if run.status == "exited" and (exec_dir / files.EXIT).exists():
            return "exited"
        return "lost" if run.status == "lost" else "running"

    def exit_info(self, ref: RunRef) -> ExitInfo | None:
        return files.read_exit_info(_exec_dir(ref))

    def child_info(self, ref: RunRef) -> ChildInfo | None:
        return files.read_child_info(_exec_dir(ref))

    def stop(self, ref: RunRef, grace: float = 10.0) -> None:
        if ref.get("kind") != self.kind:
            self._local.stop(ref, grace)
            return
        if self.state(ref) != "running":
            return
        receiver = self._connect(None, ref)[1]
        receiver.request_stop(str(ref["run_id"]), max(0.0, float(grace)))

    def kill_group(self, ref: RunRef) -> bool:
        if ref.get("kind") != self.kind:
            return self._local.kill_group(ref)
        if self.state(ref) != "running":
            return False
        receiver = self._connect(None, ref)[1]
        receiver.request_stop(str(ref["run_id"]), 0.0, kill=True)
        return True

    def adopt(self, exec_dir: Path) -> RunRef | None:
        """The ref written before the task was submitted (the engine died before storing it)."""
        data = files.read_json(exec_dir.resolve() / RUN_FILE)
        if data is None or data.get("kind") != self.kind or "run_id" not in data:
            return self._local.adopt(exec_dir)
        return data

    def cleanup_lost(self, ref: RunRef) -> None:
        """Kill what may remain of a lost run: the task, the process on any worker, its group.

        The claim is set first, so the task can never start later; then every worker kills
        the run if it has it, and every worker of the run's host kills the process group its
        ``pid.json`` records (the worker that had it is gone, its processes may not be).
        """
        if ref.get("kind") != self.kind:
            self._local.cleanup_lost(ref)
            return
        if self.state(ref) != "lost":
            return
        receiver = self._connect(None, ref)[1]
        run_id = str(ref["run_id"])
        with contextlib.suppress(Exception):
            receiver.set_claim(run_id)
        with contextlib.suppress(Exception):
            members = receiver.members(fresh=True)
            receiver.on_workers(remote.kill_runs, [run_id], workers=members)
            child = files.read_json(_exec_dir(ref) / files.PID)
            if child is not None:
                receiver.on_workers(remote.kill_recorded, child, 5.0, workers=members, timeout=10.0)

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds, waking as soon as output arrives or a run ends."""
        receiver = self._receiver
        if receiver is None:
            time.sleep(timeout)
            return
        if receiver.changed.wait(timeout):
            receiver.changed.clear()

    def close(self) -> None:
        with self._lock:
            receiver, client = self._receiver, self._client
            self._receiver = self._client = None
        if receiver is not None:
            receiver.close()
        if client is not None:
            with contextlib.suppress(Exception):
                client.close(timeout=10)
        if self._finalizer is not None:
            self._finalizer.detach()
        self._local.close()

    # -- extras ----------------------------------------------------------------------------

    def lost_reason(self, ref: RunRef) -> str | None:
        """Why a ``lost`` run is lost (its worker left the cluster, ...), if known."""
        receiver = self._receiver
        run = receiver.get(str(ref.get("run_id"))) if receiver is not None else None
        return run.lost_reason if run is not None else None

    def workers(self) -> dict[str, dict[str, Any]]:
        """Every worker of the cluster: its hyperstep version, host, pid and resources."""
        client, _ = self._connect(None)
        found: dict[str, dict[str, Any]] = client.run(remote.describe, on_error="return")
        return found

    # -- internals -------------------------------------------------------------------------

    def _run_of(self, ref: RunRef) -> Run | None:
        """The receiver's record of ``ref``, made now for a run a previous engine started."""
        run_id = ref.get("run_id")
        if not isinstance(run_id, str):
            return None
        receiver = self._connect(None, ref)[1]  # an unreachable scheduler is an error, not a loss
        run = receiver.get(run_id)
        if run is None:
            run = Run.open(ref, _exec_dir(ref), adopted=True)
            receiver.add(run)
        return run

    def _connect(self, root: Path | None, ref: RunRef | None = None) -> tuple[Any, Receiver]:
        with self._lock:
            if self._client is not None and self._receiver is not None:
                return self._client, self._receiver
            address = self.scheduler or (ref or {}).get("scheduler") or _project_scheduler(root)
            if not address:
                raise ConfigError(
                    "no Dask scheduler: pass --scheduler tcp://HOST:PORT, set "
                    f"{SCHEDULER_VAR}, add 'scheduler' to the [executor] section of "
                    "hyperstep.toml, or start one with 'hyperstep cluster up --local N'"
                )
            client = _open_client(str(address), self.connect_timeout)
            try:
                _check_workers(client, str(address), self.connect_timeout)
            except BaseException:
                with contextlib.suppress(Exception):
                    client.close(timeout=5)
                raise
            self._client = client
            self._receiver = Receiver(
                client, str(address), interval=self.interval, outputs_limit=self.outputs_limit
            )
            # runs at interpreter exit too: the client says goodbye instead of vanishing
            self._finalizer = weakref.finalize(self, _shutdown, self._receiver, client)
            return self._client, self._receiver

    def _code_for(self, client: Any, root: Path) -> tuple[CodeRef, Any]:
        if self.code == "shared":
            return CodeRef("shared", path=self.shared_root or str(root.resolve())), None
        archive = self._archives.get(root)
        with self._lock:
            future = self._archive_futures.get(archive.sha)
            if future is None:
                future = client.scatter(archive.data, broadcast=True, hash=True)
                self._archive_futures = {archive.sha: future}
        return CodeRef("archive", sha=archive.sha), future

    def _task_resources(self, spec: LaunchSpec) -> dict[str, float]:
        now = time.monotonic()
        when, offered = self._offered
        if now - when > _RESOURCE_CACHE or not offered:
            offered = _offered_resources(self._connect(spec.cwd)[0])
            self._offered = (now, offered)
        step, needs = self._step_needs(spec)
        return map_onto_workers(
            self.resources, needs, offered, step=step, explicit=self._explicit_resources
        )

    def _step_needs(self, spec: LaunchSpec) -> tuple[str, dict[str, float]]:
        """The step's ``resources:`` from the project's YAML (read once per change)."""
        execution = files.read_json(spec.exec_dir / "config" / "execution.json") or {}
        step = str(execution.get("valohai.execution-step") or "")
        path = spec.cwd / self.config
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return step, {}
        cached = self._steps.get(path)
        if cached is None or cached[0] != mtime:
            cached = (mtime, _read_step_resources(path))
            self._steps[path] = cached
        return step, step_requirements(cached[1].get(step))

    def _env_delta(self, env: Mapping[str, str]) -> dict[str, str]:
        """What the engine adds to or changes in its environment, plus forwarded variables."""
        delta = {k: v for k, v in env.items() if os.environ.get(k) != v}
        for name, value in env.items():
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.forward_env):
                delta[name] = value
        return delta


def _exec_dir(ref: RunRef) -> Path:
    try:
        return Path(ref["exec_dir"])
    except (KeyError, TypeError) as exc:
        raise ValidationError(f"not a run reference: {ref!r}", field="exec_dir") from exc


def _counter_of(spec: LaunchSpec) -> str:
    counter = spec.env.get("HYPERSTEP_EXECUTION_COUNTER")
    return counter if counter and counter.isdigit() else "run"


def _shipped_files(exec_dir: Path) -> dict[str, bytes]:
    shipped: dict[str, bytes] = {}
    total = 0
    for sub in _SHIPPED:
        folder = exec_dir / sub
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
                if total > _SHIPPED_LIMIT:
                    raise ValidationError(
                        f"{exec_dir}: config/ and inputs/ hold more than "
                        f"{_SHIPPED_LIMIT >> 20} MiB; put large inputs on shared storage",
                        field="inputs",
                    )
                shipped[path.relative_to(exec_dir).as_posix()] = path.read_bytes()
    return shipped


def _project_scheduler(root: Path | None) -> str | None:
    if root is None:
        return None
    from hyperstep.settings import project_scheduler

    return project_scheduler(root.resolve())


def _open_client(address: str, timeout: float) -> Any:
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - depends on the installation
        from hyperstep.errors import EngineUnavailable

        raise EngineUnavailable(
            f"the dask executor needs the 'distributed' package ({exc}); install hyperstep[dask]"
        ) from None
    for name in ("distributed.client", "distributed.core", "distributed.batched"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        return Client(address, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _check_workers(client: Any, address: str, timeout: float) -> None:
    """At least one worker, and every worker able to run hyperstep's code at this version."""
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (TimeoutError, OSError):
        raise ConfigError(
            f"no worker joined the Dask scheduler at {address} within {timeout:g} s; start "
            f"one with 'dask worker {address} --nthreads 1 --resources slots=1'"
        ) from None
    found = client.run(remote.describe, on_error="return", callback_timeout=timeout)
    problems = []
    for worker, info in sorted(found.items()):
        if isinstance(info, BaseException):
            problems.append(f"{worker} cannot run hyperstep ({type(info).__name__}: {info})")
        elif info.get("hyperstep") != hyperstep.__version__:
            problems.append(
                f"{worker} runs hyperstep {info.get('hyperstep')}, this engine "
                f"{hyperstep.__version__}"
            )
    if problems:
        raise ConfigError(
            f"the Dask workers at {address} cannot run executions: "
            + "; ".join(problems)
            + f". Install hyperstep[dask] {hyperstep.__version__} on every worker"
        )


def _offered_resources(client: Any) -> set[str]:
    info = client.scheduler_info(n_workers=-1)
    offered: set[str] = set()
    for worker in info.get("workers", {}).values():
        offered.update((worker.get("resources") or {}).keys())
    return offered


def _read_step_resources(path: Path) -> dict[str, dict[str, Any]]:
    """``{step name: resources data}`` of a ``valohai.yaml``; empty when it cannot be read."""
    try:
        import valohai_yaml

        with open(path, encoding="utf-8") as handle:
            config = valohai_yaml.parse(handle)
    except Exception:  # the engine validated the project already; resources are optional
        return {}
    return {
        name: step.resources.get_data() if getattr(step, "resources", None) else {}
        for name, step in config.steps.items()
    }


def _shutdown(receiver: Receiver, client: Any) -> None:
    with contextlib.suppress(Exception):
        receiver.close(timeout=5)
    with contextlib.suppress(Exception):
        client.close(timeout=5)
