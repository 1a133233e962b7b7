"""A real local Dask cluster for the tests, started and stopped through the ``hyperstep`` CLI.

Import the fixture into a test module (``from tests.cluster.support import dask_cluster``):
each module that does gets its own cluster (``hyperstep cluster up --local 2``), and its
teardown runs ``hyperstep cluster down`` and checks with psutil that no scheduler, worker,
runner or execution process of it is left.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from tests.helpers import PYTHON, run_cli

PROBE = Path(__file__).resolve().parent / "programs" / "probe.py"


def probe(*args: str) -> str:
    """The shell words that run the probe program (its parameters are appended by the step)."""
    return " ".join([PYTHON, str(PROBE), *args])


@dataclass
class Cluster:
    root: Path
    address: str
    pids: list[int]

    def processes(self) -> list[psutil.Process]:
        """The cluster's processes and all their descendants, alive now."""
        found: list[psutil.Process] = []
        for pid in self.pids:
            try:
                proc = psutil.Process(pid)
                found.append(proc)
                found.extend(proc.children(recursive=True))
            except psutil.Error:
                continue
        return found

    def worker_pids(self) -> set[int]:
        """Pids of the worker processes (the nannies' children, or the workers themselves)."""
        pids: set[int] = set()
        for proc in self.processes():
            try:
                cmdline = " ".join(proc.cmdline())
            except psutil.Error:
                continue
            if "dask_worker" in cmdline or "spawn_main" in cmdline:
                pids.add(proc.pid)
        return pids

    def worker_of(self, pid: int) -> psutil.Process | None:
        """The worker process among the ancestors of ``pid``."""
        workers = self.worker_pids()
        try:
            proc: psutil.Process | None = psutil.Process(pid)
        except psutil.Error:
            return None
        while proc is not None:
            if proc.pid in workers:
                return proc
            proc = proc.parent()
        return None

    def wait_workers(self, count: int, timeout: float = 60.0) -> None:
        """Wait until ``count`` workers are connected (a killed one is restarted by its nanny)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            res = run_cli("--project", str(self.root), "cluster", "status", "--json")
            if res.returncode == 0 and len(res.json()["workers"]) >= count:
                return
            time.sleep(0.3)
        pytest.fail(f"fewer than {count} Dask workers after {timeout} s")


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    left = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc)
        except psutil.Error:
            continue
    return left


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("dask-cluster")
    up = run_cli("--project", str(root), "cluster", "up", "--local", "2", "--json", timeout=120)
    assert up.returncode == 0, up
    state = up.json()
    cluster = Cluster(root, state["address"], [p["pid"] for p in state["processes"]])
    try:
        yield cluster
    finally:
        family = cluster.processes()
        down = run_cli("--project", str(root), "cluster", "down", "--json", timeout=120)
        left = alive(family)
        for proc in left:  # never leave anything behind, even when the test fails
            proc.kill()
        assert down.returncode == 0, down
        assert set(json.loads(down.stdout)["stopped"]) >= set(cluster.pids[1:])
        assert not left, f"left behind by 'cluster down': {[p.pid for p in left]}"
