"""The Dask executor's contract, on a real local cluster (``hyperstep cluster up --local 2``).

The same contract as the local executor's: ``launch`` returns a JSON ref, the execution folder
on the engine's machine gets ``stdout.log``, ``stderr.log``, ``pid.json`` and ``exit.json``
(while the run goes on, not at its end), ``stop`` ends the process on its worker, ``adopt``
finds a run from its folder, and a run whose worker died is ``lost`` and cleaned up.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tests.cluster.support import PROBE, Cluster, alive, dask_cluster, wait_until
from tests.helpers import PROGRAMS

from hyperstep.errors import ConflictError, ValidationError
from hyperstep.executors.base import LaunchSpec, RunRef
from hyperstep.executors.dask import DaskExecutor

__all__ = ["dask_cluster"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "valohai.yaml").write_text(
        """
- step:
    name: plain
    image: python:3.11
    command: "true"
- step:
    name: gpu
    image: python:3.11
    command: "true"
    resources:
      devices:
        nvidia.com/gpu: 1
""",
        encoding="utf-8",
    )
    return root


@pytest.fixture
def executor(dask_cluster: Cluster) -> Iterator[DaskExecutor]:
    executor = DaskExecutor(dask_cluster.address, grace=2.0)
    yield executor
    executor.close()


class Launcher:
    def __init__(self, executor: DaskExecutor, project: Path) -> None:
        self.executor = executor
        self.project = project
        self.count = 0

    def spec(self, command: str, step: str = "plain") -> LaunchSpec:
        self.count += 1
        exec_dir = self.project / ".hyperstep" / "executions" / str(self.count)
        config = exec_dir / "config"
        config.mkdir(parents=True)
        (config / "parameters.json").write_text(json.dumps({"x": self.count}))
        (config / "execution.json").write_text(json.dumps({"valohai.execution-step": step}))
        env = {
            **os.environ,
            "VH_CONFIG_DIR": str(config),
            "VH_OUTPUTS_DIR": str(exec_dir / "outputs"),
            "VH_REPOSITORY_DIR": str(self.project),
            "HYPERSTEP_EXECUTION_COUNTER": str(self.count),
        }
        return LaunchSpec(exec_dir=exec_dir, command=command, cwd=self.project, env=env)

    def launch(self, command: str, step: str = "plain") -> RunRef:
        return self.executor.launch(self.spec(command, step))

    def wait(self, ref: RunRef, timeout: float = 60.0) -> str:
        wait_until(lambda: self.executor.state(ref) != "running", timeout, "the run to end")
        return self.executor.state(ref)


@pytest.fixture
def runs(executor: DaskExecutor, project: Path) -> Launcher:
    return Launcher(executor, project)


def probe(*args: str) -> str:
    return " ".join([sys.executable, str(PROBE), *args])


def stdout_of(ref: RunRef) -> str:
    path = Path(ref["exec_dir"]) / "stdout.log"
    return path.read_text() if path.exists() else ""


def test_a_run_leaves_the_execution_folder_the_engine_reads(
    runs: Launcher, executor: DaskExecutor, project: Path
) -> None:
    ref = runs.launch(
        probe("--epochs", "2", "--sleep", "0.1", "--write-output", "model.txt")
        + "; echo to-stderr >&2; exit 3"
    )
    assert json.loads(json.dumps(ref)) == ref and ref["kind"] == "dask"
    assert runs.wait(ref) == "exited"
    info = executor.exit_info(ref)
    assert info is not None and info.exit_code == 3 and not info.stop_requested
    exec_dir = Path(ref["exec_dir"])
    lines = [json.loads(line) for line in stdout_of(ref).splitlines() if line.startswith("{")]
    assert [line["epoch"] for line in lines] == [1, 2]
    assert (exec_dir / "stderr.log").read_text() == "to-stderr\n"
    child = executor.child_info(ref)
    assert child is not None and child.extra["worker"] == lines[0]["worker"]
    assert child.pgid == lines[0]["pgid"]
    # the runtime contract on the worker: its own folders, the engine's parameters
    assert lines[0]["parameters"] == {"x": 1}
    assert lines[0]["repository"] != str(project)
    # outputs/ comes back to the engine's folder
    assert (exec_dir / "outputs" / "model.txt").read_text() == "model\n"
    assert executor.adopt(exec_dir) == ref


def test_output_arrives_while_the_run_goes_on(runs: Launcher, tmp_path: Path) -> None:
    go = tmp_path / "go"
    ref = runs.launch(probe("--epochs", "2", "--sleep", "0", "--wait-file", str(go)))
    wait_until(lambda: '"epoch": 1' in stdout_of(ref), 30, "the first line on the engine side")
    assert runs.executor.state(ref) == "running"  # blocked until the go file exists
    assert '"epoch": 2' not in stdout_of(ref)
    go.touch()
    assert runs.wait(ref) == "exited"
    assert '"epoch": 2' in stdout_of(ref)


def test_each_run_gets_a_fresh_copy_of_the_project(runs: Launcher) -> None:
    first = runs.launch(probe("--epochs", "1", "--touch-cwd", "scratch.txt"))
    assert runs.wait(first) == "exited"
    second = runs.launch(probe("--epochs", "1", "--expect-absent", "scratch.txt"))
    assert runs.wait(second) == "exited"
    info = runs.executor.exit_info(second)
    assert info is not None and info.exit_code == 0, stdout_of(second)


def test_stop_kills_the_process_on_its_worker(runs: Launcher) -> None:
    ref = runs.launch(f"exec {sys.executable} {PROGRAMS / 'ignore_sigterm.py'}")
    wait_until(lambda: runs.executor.child_info(ref) is not None, 30, "the run to start")
    wait_until(lambda: stdout_of(ref).strip(), 30, "the program to be ready")
    child = runs.executor.child_info(ref)
    assert child is not None
    command = psutil.Process(child.child_pid)
    runs.executor.stop(ref, grace=1.0)
    assert runs.wait(ref, 30) == "exited"
    info = runs.executor.exit_info(ref)
    assert info is not None and info.stop_requested and info.escalated
    assert info.signal == signal.SIGKILL
    assert not alive([command])
    runs.executor.stop(ref)  # stopping an ended run does nothing


def test_stop_before_the_run_starts_cancels_it(runs: Launcher, dask_cluster: Cluster) -> None:
    holders = [runs.launch(f"exec {sys.executable} {PROGRAMS / 'hang.py'}") for _ in range(2)]
    for ref in holders:
        wait_until(lambda r=ref: runs.executor.child_info(r) is not None, 30, "a slot taken")
    queued = runs.launch("echo never")
    time.sleep(0.3)
    assert runs.executor.child_info(queued) is None  # no free slot: waiting in Dask
    runs.executor.stop(queued, grace=1.0)
    assert runs.wait(queued) == "exited"
    info = runs.executor.exit_info(queued)
    assert info is not None and info.stop_requested and info.exit_code is None
    assert "before it started" in (info.error or "")
    for ref in holders:
        assert runs.executor.kill_group(ref)
        assert runs.wait(ref) == "exited"
    assert not (Path(queued["exec_dir"]) / "stdout.log").exists()  # it never ran


def test_a_new_executor_adopts_a_running_run(
    runs: Launcher, dask_cluster: Cluster, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    ref = runs.launch(probe("--epochs", "2", "--sleep", "0", "--wait-file", str(go)))
    wait_until(lambda: '"epoch": 1' in stdout_of(ref), 30, "the first line")
    runs.executor.close()  # the engine goes away; the run does not
    successor = DaskExecutor(grace=2.0)  # finds the scheduler in the stored ref
    try:
        assert successor.state(ref) == "running"
        go.touch()
        wait_until(lambda: successor.state(ref) != "running", 30, "the adopted run to end")
        assert successor.state(ref) == "exited"
        assert stdout_of(ref).count('"epoch": 1') == 1  # nothing ingested twice
        assert '"epoch": 2' in stdout_of(ref) and "done" in stdout_of(ref)
    finally:
        successor.close()


def test_a_folder_is_never_reused(runs: Launcher) -> None:
    spec = runs.spec("true")
    ref = runs.executor.launch(spec)
    assert runs.wait(ref) == "exited"
    with pytest.raises(ConflictError, match="already holds a run"):
        runs.executor.launch(spec)


def test_step_resources_must_be_offered_by_a_worker(runs: Launcher) -> None:
    with pytest.raises(ValidationError, match=r"nvidia.com/gpu.*no worker"):
        runs.launch("true", step="gpu")
    explicit = DaskExecutor(runs.executor.scheduler, resources="slots=1,GPU=1")
    try:
        with pytest.raises(ValidationError, match="'GPU'"):
            other = Launcher(explicit, runs.project)
            other.count = runs.count
            other.launch("true")
    finally:
        explicit.close()


def test_a_run_whose_worker_dies_is_lost_and_cleaned_up(
    runs: Launcher, dask_cluster: Cluster
) -> None:
    ref = runs.launch(f"exec {sys.executable} {PROGRAMS / 'hang.py'}")
    wait_until(lambda: runs.executor.child_info(ref) is not None, 30, "the run to start")
    wait_until(lambda: stdout_of(ref).strip(), 30, "the program to be ready")
    child = runs.executor.child_info(ref)
    assert child is not None
    command = psutil.Process(child.child_pid)
    worker = dask_cluster.worker_of(child.shim_pid)
    assert worker is not None
    worker.send_signal(signal.SIGKILL)
    wait_until(lambda: runs.executor.state(ref) == "lost", 30, "the run to be lost")
    assert "left the cluster" in (runs.executor.lost_reason(ref) or "")
    runs.executor.cleanup_lost(ref)
    wait_until(lambda: not alive([command]), 10, "the orphan to be killed")
    assert runs.executor.exit_info(ref) is None
    dask_cluster.wait_workers(2)
