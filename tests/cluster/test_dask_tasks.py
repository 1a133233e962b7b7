"""Tasks on a real local Dask cluster (``hyperstep cluster up --local 2``) with PostgreSQL.

Everything goes through the real ``hyperstep`` command: the engine is a CLI process, the
executions are processes of the runner shim on the Dask workers, the store is a fresh schema
of the test PostgreSQL server.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from tests.cluster.support import Cluster, alive, dask_cluster, probe, wait_until
from tests.helpers import PYTHON, clean_env, run_cli

from hyperstep.errors import NotFoundError
from hyperstep.store import ExecutionRecord, Store

__all__ = ["dask_cluster"]

PROJECT = """
- step:
    name: probe
    image: python:3.11
    command: {probe} {{parameters}} --epochs 3 --sleep 0.4
    parameters:
      - name: x
        type: float
        default: 0.0
- step:
    name: holder
    image: python:3.11
    command: {probe} {{parameters}} --epochs 2 --sleep 0.2 --hold 60
    parameters:
      - name: x
        type: float
        default: 0.0
- step:
    name: long
    image: python:3.11
    command: {probe} {{parameters}} --epochs 6 --sleep 0.3
    parameters:
      - name: x
        type: float
        default: 0.0
- task:
    name: bayes20
    step: probe
    type: bayesian_tpe
    execution-count: 20
    execution-batch-size: 2
    optimization-target-metric: objective
    parameters:
      - name: x
        style: random
        rules: {{distribution: uniform, min: 0, max: 2}}
- task:
    name: stopper
    step: holder
    type: random_search
    execution-count: 6
    execution-batch-size: 2
    stop-condition: objective < 0.5
    parameters:
      - name: x
        style: random
        rules: {{distribution: uniform, min: 0.9, max: 1.1}}
- task:
    name: long4
    step: long
    type: random_search
    execution-count: 4
    execution-batch-size: 2
    parameters:
      - name: x
        style: random
        rules: {{distribution: uniform, min: 0, max: 2}}
- task:
    name: holders
    step: holder
    type: random_search
    execution-count: 6
    execution-batch-size: 2
    parameters:
      - name: x
        style: random
        rules: {{distribution: uniform, min: 3, max: 4}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "valohai.yaml").write_text(PROJECT.format(probe=probe()), encoding="utf-8")
    return root


@pytest.fixture
def store(project: Path, pg_url: str) -> Iterator[Store]:
    """The test's PostgreSQL store, read directly (polling through the CLI would be slow)."""
    with Store.open(pg_url, project) as opened:
        yield opened


def hs(project: Path, pg_url: str, *args: str, **kwargs: Any) -> Any:
    return run_cli("--store", pg_url, *args, cwd=project, **kwargs)


def executions(store: Store, task: int = 1) -> list[ExecutionRecord]:
    """The task's executions (none while the task is not created yet)."""
    try:
        task_id = store.get_task(counter=task).id
    except NotFoundError:
        return []
    return store.list_executions(task_id=task_id, limit=None)


def events(store: Store, record: ExecutionRecord) -> list[dict[str, Any]]:
    return [{**e.data, "_stored": e.time} for e in store.get_events(record.id)]


def log_text(store: Store, record: ExecutionRecord) -> str:
    return "\n".join(line.message for line in store.get_logs(record.id))


def background(project: Path, pg_url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, "-m", "hyperstep", "--store", pg_url, *args],
        cwd=project,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_bayesian_task_runs_every_execution_on_a_worker(
    project: Path, pg_url: str, store: Store, dask_cluster: Cluster
) -> None:
    res = hs(
        project,
        pg_url,
        "task",
        "run",
        "bayes20",
        "--scheduler",
        dask_cluster.address,
        "--seed",
        "4",
        "--json",
        timeout=240,
    )
    assert res.returncode == 0, res
    task = res.json()
    assert task["status"] == "complete"
    assert task["status_summary"]["complete_count"] == 20
    execs = executions(store)
    assert [e.task_index for e in execs] == list(range(20))
    cluster_pids = {p.pid for p in dask_cluster.processes()}
    workers_seen = set()
    for execution in execs:
        stream = events(store, execution)
        assert [e["epoch"] for e in stream] == [1, 2, 3]
        first, last = stream[0], stream[-1]
        # the command ran under the runner shim on a worker: the recorded pid is the leader of
        # the process group the program reports, its worker is one of the cluster's, and the
        # shim and the worker process are among the program's ancestors
        assert execution.pid == first["pgid"], execution
        assert execution.host == socket.gethostname()
        assert first["worker"].startswith("tcp://127.0.0.1:")
        workers_seen.add(first["worker"])
        pid_file = json.loads((project / execution.exec_dir / "pid.json").read_text())
        assert pid_file["worker"] == first["worker"]
        assert pid_file["shim_pid"] in first["ancestors"]
        assert set(first["ancestors"]) & cluster_pids
        # it ran in the worker's copy of the project, with the runtime contract's files
        assert first["repository"] != str(project) and first["cwd"] == first["repository"]
        assert first["parameters.x"] == execution.parameters["x"]
        # metadata arrived while it ran: the first event was stored before the program
        # printed its last one (0.8 s later)
        assert first["_stored"] < last["t"], (first, last)
    assert len(workers_seen) == 2


def test_stop_condition_stops_executions_on_the_workers(
    project: Path, pg_url: str, store: Store, dask_cluster: Cluster
) -> None:
    res = hs(
        project,
        pg_url,
        "task",
        "run",
        "stopper",
        "--scheduler",
        dask_cluster.address,
        "--json",
        timeout=120,
    )
    assert res.returncode == 0, res
    task = res.json()
    assert task["status"] == "stopped"
    assert "objective < 0.5" in task["status_detail"]
    execs = executions(store)
    assert task["stopped_by_execution"] in [e.counter for e in execs]
    assert len(execs) == 2  # nothing new started once the condition held
    for execution in execs:
        assert execution.status.value == "stopped", execution
        logs = log_text(store, execution)
        assert "done" not in logs  # stopped mid-execution, on its worker
        if execution.counter == task["stopped_by_execution"]:
            assert "holding" in logs
        assert execution.pid is not None
        wait_until(lambda pid=execution.pid: not _running(pid), 10, "the process to end")


def test_killing_a_worker_crashes_and_retries_its_execution(
    project: Path, pg_url: str, store: Store, dask_cluster: Cluster
) -> None:
    proc = background(
        project, pg_url, "task", "run", "long4", "--scheduler", dask_cluster.address, "--quiet"
    )
    found: list[tuple[ExecutionRecord, int]] = []

    def started() -> bool:
        for execution in executions(store):
            pid_file = project / execution.exec_dir / "pid.json"
            if execution.status.value == "started" and execution.pid and pid_file.exists():
                found.append((execution, json.loads(pid_file.read_text())["shim_pid"]))
                return True
        return False

    try:
        wait_until(started, 60, "a started execution")
        victim, shim = found[0]
        worker = dask_cluster.worker_of(shim)
        assert worker is not None
        assert victim.pid is not None
        command = psutil.Process(victim.pid)
        worker.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_until(lambda: not alive([command]), 15, "the killed worker's execution to end")
    execs = executions(store)
    assert [e.task_index for e in execs] == [0, 1, 2, 3]  # exactly its executions
    assert all(e.status.value == "complete" for e in execs), execs
    retried = next(e for e in execs if e.counter == victim.counter)
    assert retried.attempt == 2
    assert retried.exec_dir.endswith("attempt-2")
    assert retried.pid != victim.pid
    assert [e.attempt for e in execs if e.counter != victim.counter] == [1, 1, 1]
    logs = log_text(store, retried)
    assert "attempt 1 crashed" in logs and "left the cluster" in logs
    assert [e["epoch"] for e in events(store, retried)][-6:] == list(range(1, 7))
    assert store.get_task(counter=1).status.value == "complete"
    dask_cluster.wait_workers(2)


def test_task_stop_kills_the_processes_on_the_workers(
    project: Path, pg_url: str, store: Store, dask_cluster: Cluster
) -> None:
    proc = background(
        project, pg_url, "task", "run", "holders", "--scheduler", dask_cluster.address, "--quiet"
    )
    pids: list[int] = []

    def holding() -> bool:
        running = [e for e in executions(store) if e.status.value == "started"]
        if len(running) < 2 or any(e.pid is None for e in running):
            return False
        if not all("holding" in log_text(store, e) for e in running):
            return False
        pids.extend(e.pid for e in running if e.pid is not None)
        return True

    try:
        wait_until(holding, 60, "two executions holding")
        commands = [psutil.Process(pid) for pid in pids]
        stop = hs(project, pg_url, "task", "stop", "1")
        assert stop.returncode == 0, stop
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1, err  # the task did not complete: it was stopped
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_until(lambda: not alive(commands), 10, "the stopped executions' processes to end")
    leftovers = [p for p in dask_cluster.processes() if "probe.py" in " ".join(_cmdline(p))]
    assert not leftovers
    assert store.get_task(counter=1).status.value == "stopped"
    assert {e.status.value for e in executions(store)} == {"stopped"}


def test_a_second_engine_on_the_same_task_refuses(
    project: Path, pg_url: str, store: Store, dask_cluster: Cluster
) -> None:
    first = background(
        project, pg_url, "task", "run", "long4", "--scheduler", dask_cluster.address, "--quiet"
    )
    try:
        wait_until(lambda: len(executions(store)) >= 2, 60, "the first engine's executions")
        second = hs(project, pg_url, "task", "run", "long4", "--scheduler", dask_cluster.address)
        assert second.returncode == 2, second
        assert "task !1 is being driven by" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            first.kill()
    execs = executions(store)
    assert [e.task_index for e in execs] == [0, 1, 2, 3]  # nothing duplicated
    assert all(e.status.value == "complete" and e.attempt == 1 for e in execs)
    assert len(store.list_tasks(limit=10)) == 1


def test_exec_run_streams_output_while_it_runs(
    project: Path, pg_url: str, store: Store, dask_cluster: Cluster, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    (project / "valohai.yaml").write_text(
        PROJECT.format(probe=probe("--wait-file", str(go))), encoding="utf-8"
    )
    proc = background(
        project,
        pg_url,
        "exec",
        "run",
        "probe",
        "--x",
        "2",
        "--scheduler",
        dask_cluster.address,
        "--json",
    )
    records: list[ExecutionRecord] = []

    def first_line_stored() -> bool:
        try:
            record = store.get_execution(counter=1)
        except NotFoundError:
            return False
        records.append(record)
        return record.cumulative_metadata.get("epoch") == 1

    try:
        wait_until(first_line_stored, 60, "the first metadata line in the store")
        # the program waits for the go file: the line reached the store while it ran
        assert records[-1].status.value == "started"
        go.touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    record = json.loads(out)
    assert record["status"] == "complete"
    assert record["cumulative_metadata"]["epoch"] == 3
    assert record["cumulative_metadata"]["objective"] == 1.0
    folder = project / ".hyperstep" / "executions" / "1"
    assert (folder / "exit.json").exists() and (folder / "pid.json").exists()
    assert (folder / "stdout.log").read_text().count("\n") == 4  # 3 epochs and "done"


def _running(pid: int) -> bool:
    try:
        return bool(alive([psutil.Process(pid)]))
    except psutil.Error:
        return False


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []
