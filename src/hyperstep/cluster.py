"""A Dask cluster on this machine, for trying the dask executor and for tests.

``hyperstep cluster up --local N`` starts a real ``dask scheduler`` and N ``dask worker``
processes on the loopback interface (each worker with ``--resources slots=S`` and S threads),
in their own sessions so they outlive the command and the terminal. Their pids and creation
times go to ``.hyperstep/cluster/cluster.json`` in the project, with their logs beside it;
``hyperstep cluster down`` stops exactly those processes (and whatever they started), never
anything found by name. The scheduler runs with ``allowed-failures`` 0: a task whose worker
died is reported failed at once rather than silently re-run by Dask; hyperstep's engine decides
about retries itself.

On several machines, start ``dask scheduler`` and ``dask worker`` yourself (see the README).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

import hyperstep
from hyperstep.errors import ConflictError, EngineUnavailable, HyperstepError, ValidationError
from hyperstep.executors import process_group

STATE_DIR = Path(".hyperstep") / "cluster"
STATE_FILE = "cluster.json"
_LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ClusterProcess:
    """One process of the cluster, identified by pid *and* creation time (pids get reused)."""

    role: str
    pid: int
    create_time: float | None
    log: str

    def alive(self) -> bool:
        if not process_group.same_process(self.pid, self.create_time):
            return False
        try:
            return psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False


@dataclass
class LocalCluster:
    address: str | None
    folder: str
    workers: int
    slots: int
    nanny: bool
    started: float = field(default_factory=time.time)
    processes: list[ClusterProcess] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LocalCluster:
        processes = [ClusterProcess(**p) for p in data.get("processes", [])]
        return cls(
            address=data.get("address"),
            folder=str(data["folder"]),
            workers=int(data["workers"]),
            slots=int(data["slots"]),
            nanny=bool(data.get("nanny", True)),
            started=float(data.get("started", 0.0)),
            processes=processes,
        )

    def alive(self) -> list[ClusterProcess]:
        return [p for p in self.processes if p.alive()]


def state_dir(root: Path) -> Path:
    return root / STATE_DIR


def read_cluster(root: Path) -> LocalCluster | None:
    """The project's local cluster as recorded (its processes may have died since)."""
    try:
        data = json.loads((state_dir(root) / STATE_FILE).read_text(encoding="utf-8"))
        return LocalCluster.from_json(data)
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def cluster_address(root: Path) -> str | None:
    """The scheduler address of the project's local cluster, if it is up."""
    cluster = read_cluster(root)
    if cluster is None or cluster.address is None:
        return None
    scheduler = [p for p in cluster.processes if p.role == "scheduler"]
    return cluster.address if scheduler and scheduler[0].alive() else None


def _write(root: Path, cluster: LocalCluster) -> None:
    path = state_dir(root) / STATE_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(cluster.to_json(), indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _env() -> dict[str, str]:
    """The processes import the same hyperstep as this command, and never re-run a task."""
    package_parent = str(Path(hyperstep.__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONPATH": package_parent + (os.pathsep + path if path else ""),
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
    }


def _spawn(argv: list[str], log: Path, role: str) -> ClusterProcess:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(),
            start_new_session=True,
            close_fds=True,
        )
    return ClusterProcess(role, proc.pid, process_group.create_time(proc.pid), str(log))


def start_local(
    root: Path,
    workers: int,
    slots: int = 1,
    *,
    port: int = 0,
    nanny: bool = True,
    timeout: float = 60.0,
) -> LocalCluster:
    """Start a scheduler and ``workers`` workers on loopback; returns once all have joined."""
    if workers < 1:
        raise ValidationError("must be 1 or more", field="--local")
    if slots < 1:
        raise ValidationError("must be 1 or more", field="--slots")
    existing = read_cluster(root)
    if existing is not None and existing.alive():
        raise ConflictError(
            f"a local cluster is already up at {existing.address} (pids "
            f"{', '.join(str(p.pid) for p in existing.alive())}); "
            "stop it first with 'hyperstep cluster down'"
        )
    folder = state_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    scheduler_file = folder / "scheduler.json"
    scheduler_file.unlink(missing_ok=True)
    cluster = LocalCluster(
        address=None, folder=str(folder), workers=workers, slots=slots, nanny=nanny
    )
    python = sys.executable
    try:
        cluster.processes.append(
            _spawn(
                [
                    python,
                    "-m",
                    "distributed.cli.dask_scheduler",
                    "--host",
                    _LOOPBACK,
                    "--port",
                    str(port),
                    "--no-dashboard",
                    "--scheduler-file",
                    str(scheduler_file),
                ],
                folder / "scheduler.log",
                "scheduler",
            )
        )
        _write(root, cluster)
        cluster.address = _wait_scheduler(cluster, scheduler_file, timeout)
        for index in range(1, workers + 1):
            cluster.processes.append(
                _spawn(
                    [
                        python,
                        "-m",
                        "distributed.cli.dask_worker",
                        cluster.address,
                        "--host",
                        _LOOPBACK,
                        "--nthreads",
                        str(slots),
                        "--resources",
                        f"slots={slots}",
                        "--no-dashboard",
                        "--name",
                        f"local-{index}",
                        "--local-directory",
                        str(folder / f"worker-{index}"),
                        "--death-timeout",
                        "60",
                        "--nanny" if nanny else "--no-nanny",
                    ],
                    folder / f"worker-{index}.log",
                    "worker",
                )
            )
        _write(root, cluster)
        _wait_workers(cluster, timeout)
    except BaseException:
        stop_processes(cluster.processes)
        _write(root, cluster)
        raise
    return cluster


def _wait_scheduler(cluster: LocalCluster, scheduler_file: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    scheduler = cluster.processes[0]
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, ValueError):
            address = json.loads(scheduler_file.read_text(encoding="utf-8")).get("address")
            if address:
                return str(address)
        if not scheduler.alive():
            raise HyperstepError(f"the Dask scheduler did not start:\n{_tail(scheduler.log)}")
        time.sleep(0.05)
    raise HyperstepError(
        f"the Dask scheduler did not start within {timeout:g} s:\n{_tail(scheduler.log)}"
    )


def _client_class() -> Any:
    try:
        from distributed import Client
    except ImportError as exc:
        raise EngineUnavailable(
            f"a Dask cluster needs the 'distributed' package ({exc}); install hyperstep[dask]"
        ) from None
    return Client


def _wait_workers(cluster: LocalCluster, timeout: float) -> None:
    Client = _client_class()
    assert cluster.address is not None
    with Client(cluster.address, timeout=timeout, set_as_default=False) as client:
        deadline = time.monotonic() + timeout
        while True:
            joined = len(client.nthreads())
            if joined >= cluster.workers:
                return
            dead = [p for p in cluster.processes if p.role == "worker" and not p.alive()]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(_tail(p.log) for p in (dead or cluster.processes[1:]))
                raise HyperstepError(
                    f"{joined} of {cluster.workers} Dask workers joined the scheduler at "
                    f"{cluster.address}:\n{logs}"
                )
            time.sleep(0.05)


def _tail(log: str, lines: int = 20) -> str:
    try:
        text = Path(log).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return f"({log} is unreadable)"
    return f"--- {log}\n" + "\n".join(text[-lines:])


def stop_processes(processes: list[ClusterProcess], timeout: float = 15.0) -> list[int]:
    """SIGTERM the recorded processes, workers first; SIGKILL what is left after ``timeout``.

    Workers stop before the scheduler: a worker whose scheduler vanished first waits for it
    to come back before it closes. The descendants of every process (worker processes under
    a nanny, runner shims, executions) are collected first and killed too if they outlive
    their parents. Returns the pids that were alive.
    """
    stopped: list[int] = []
    family: list[psutil.Process] = []
    deadline = time.monotonic() + timeout
    for roles in (("worker",), ("scheduler",)):
        tops: list[psutil.Process] = []
        for item in processes:
            if item.role not in roles or not item.alive():
                continue
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(item.pid)
                family.extend(proc.children(recursive=True))
                tops.append(proc)
        for proc in tops:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(tops, timeout=max(1.0, (deadline - time.monotonic()) / 2))
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        stopped.extend(p.pid for p in tops)
    # executions end with their workers (their runner is told when its worker dies)
    _, left = psutil.wait_procs(family, timeout=max(1.0, deadline - time.monotonic()))
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(left, timeout=5)
    return stopped


def stop_local(root: Path, timeout: float = 15.0) -> list[int]:
    """Stop the project's local cluster; the pids stopped (empty when none was up)."""
    cluster = read_cluster(root)
    if cluster is None:
        return []
    stopped = stop_processes(cluster.processes, timeout)
    with contextlib.suppress(FileNotFoundError):
        (state_dir(root) / STATE_FILE).unlink()
    (state_dir(root) / "scheduler.json").unlink(missing_ok=True)
    return stopped


def cluster_status(address: str, timeout: float = 5.0) -> dict[str, Any]:
    """The scheduler's workers: name, host, threads, resources, tasks running."""
    Client = _client_class()
    try:
        with Client(address, timeout=timeout, set_as_default=False) as client:
            info = client.scheduler_info(n_workers=-1)
            processing = client.processing()
    except (OSError, TimeoutError) as exc:
        raise HyperstepError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    workers = []
    for worker_address, worker in sorted(info.get("workers", {}).items()):
        workers.append(
            {
                "address": worker_address,
                "name": worker.get("name"),
                "host": worker.get("host"),
                "nthreads": worker.get("nthreads"),
                "resources": worker.get("resources") or {},
                "running": len(processing.get(worker_address, ())),
            }
        )
    return {"address": address, "workers": workers}
