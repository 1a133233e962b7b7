"""Tasks on a real local Dask cluster (``hyperstep cluster up --local 2``) with PostgreSQL.

Everything goes through the real ``hyperstep`` command: the engine is a CLI process, the
executions are processes of the runner shim on the Dask workers, the store is a fresh schema
of the test PostgreSQL server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from tests.cluster.support import Cluster, alive, dask_cluster, probe, wait_until
from tests.helpers import PYTHON, clean_env, run_cli

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
    command: {probe} {{parameters}} --epochs 8 --sleep 0.4
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


def hs(project: Path, pg_url: str, *args: str, **kwargs: Any) -> Any:
    return run_cli("--store", pg_url, *args, cwd=project, **kwargs)


def executions(project: Path, pg_url: str, task: int = 1) -> list[dict[str, Any]]:
    res = hs(project, pg_url, "exec", "list", "--task", str(task), "--limit", "1000", "--json")
    assert res.returncode == 0, res
    return sorted(res.json(), key=lambda e: e["counter"])


def events(project: Path, pg_url: str, counter: int) -> list[dict[str, Any]]:
    from hyperstep.store import Store

    with Store.open(pg_url, project) as store:
        record = store.get_execution(counter=counter)
        return [{**e.data, "_stored": e.time} for e in store.get_events(record.id)]


def background(project: Path, pg_url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, "-m", "hyperstep", "--store", pg_url, *args],
        cwd=project, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_bayesian_task_runs_every_execution_on_a_worker(
    project: Path, pg_url: str, dask_cluster: Cluster
) -> None:
    res = hs(project, pg_url, "task", "run", "bayes20", "--scheduler", dask_cluster.address,
             "--seed", "4", "--json", timeout=240)
    assert res.returncode == 0, res
    task = res.json()
    assert task["status"] == "complete"
    assert task["status_summary"]["complete_count"] == 20
    execs = executions(project, pg_url)
    assert len(execs) == 20
    assert [e["task_index"] for e in execs] == list(range(20))
    workers_seen = set()
    for execution in execs:
        stream = events(project, pg_url, execution["counter"])
        assert [e["epoch"] for e in stream] == [1, 2, 3]
        first, last = stream[0], stream[-1]
        # the command ran under the runner shim on a worker: the recorded pid is the leader of
        # the process group the program reports, its worker is one of the cluster's, and that
        # worker process is among the program's ancestors
        assert execution["pid"] == first["pgid"], execution
        assert execution["host"] == socket.gethostname()
        assert first["worker"].startswith("tcp://127.0.0.1:")
        workers_seen.add(first["worker"])
        pid_file = json.loads((project / execution["exec_dir"] / "pid.json").read_text())
        assert pid_file["worker"] == first["worker"]
        assert pid_file["shim_pid"] in first["ancestors"]
        assert set(first["ancestors"]) & {p.pid for p in dask_cluster.processes()}
        # its project copy is the worker's, not the engine's folder
        assert first["repository"] != str(project)
        assert first["parameters.x"] == execution["parameters"]["x"]
        # metadata arrived while it ran: the first event was stored before the program
        # printed its last one (0.8 s later)
        assert first["_stored"] < last["t"], (first, last)
    assert len(workers_seen) == 2


def test_stop_condition_stops_executions_on_the_workers(
    project: Path, pg_url: str, dask_cluster: Cluster
) -> None:
    res = hs(project, pg_url, "task", "run", "stopper", "--scheduler", dask_cluster.address,
             "--json", timeout=120)
    assert res.returncode == 0, res
    task = res.json()
    assert task["status"] == "stopped"
    assert "objective < 0.5" in task["status_detail"]
    execs = executions(project, pg_url)
    assert task["stopped_by_execution"] in [e["counter"] for e in execs]
    assert len(execs) == 2  # nothing new started once the condition held
    for execution in execs:
        assert execution["status"] == "stopped", execution
        logs = hs(project, pg_url, "exec", "logs", str(execution["counter"])).stdout
        assert "holding" in logs and "done" not in logs  # stopped mid-execution
        assert not psutil.pid_exists(execution["pid"]) or not alive(
            [psutil.Process(execution["pid"])]
        )


def test_killing_a_worker_crashes_and_retries_its_execution(
    project: Path, pg_url: str, dask_cluster: Cluster
) -> None:
    proc = background(project, pg_url, "task", "run", "long4", "--scheduler",
                      dask_cluster.address, "--quiet")
    victim: dict[str, Any] = {}

    def started() -> bool:
        for execution in executions(project, pg_url):
            pid_file = project / execution["exec_dir"] / "pid.json"
            if execution["status"] == "started" and pid_file.exists():
                victim.update(execution, shim=json.loads(pid_file.read_text())["shim_pid"])
                return True
        return False

    try:
        wait_until(started, 60, "a started execution")
        worker = dask_cluster.worker_of(victim["shim"])
        assert worker is not None
        command = psutil.Process(victim["pid"])
        worker.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_until(lambda: not alive([command]), 15, "the killed worker's execution to end")
    execs = executions(project, pg_url)
    assert [e["task_index"] for e in execs] == [0, 1, 2, 3]  # exactly its executions
    assert all(e["status"] == "complete" for e in execs), execs
    retried = next(e for e in execs if e["counter"] == victim["counter"])
    assert retried["attempt"] == 2
    assert retried["exec_dir"].endswith("attempt-2")
    assert retried["pid"] != victim["pid"]
    assert [e["attempt"] for e in execs if e["counter"] != victim["counter"]] == [1, 1, 1]
    logs = hs(project, pg_url, "exec", "logs", str(victim["counter"])).stdout
    assert "attempt 1 crashed" in logs and "left the cluster" in logs
    stream = events(project, pg_url, victim["counter"])
    assert [e["epoch"] for e in stream][-8:] == list(range(1, 9))
    task = hs(project, pg_url, "task", "show", "1", "--json").json()
    assert task["status"] == "complete"
    dask_cluster.wait_workers(2)


def test_task_stop_kills_the_processes_on_the_workers(
    project: Path, pg_url: str, dask_cluster: Cluster
) -> None:
    proc = background(project, pg_url, "task", "run", "holders", "--scheduler",
                      dask_cluster.address, "--quiet")
    pids: list[int] = []

    def holding() -> bool:
        running = [e for e in executions(project, pg_url) if e["status"] == "started"]
        if len(running) < 2 or any(e["pid"] is None for e in running):
            return False
        logs = [hs(project, pg_url, "exec", "logs", str(e["counter"])).stdout for e in running]
        if not all("holding" in text for text in logs):
            return False
        pids.extend(e["pid"] for e in running)
        return True

    try:
        wait_until(holding, 60, "two executions holding")
        commands = [psutil.Process(pid) for pid in pids]
        stop = hs(project, pg_url, "task", "stop", "1")
        assert stop.returncode == 0, stop
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_until(lambda: not alive(commands), 10, "the stopped executions' processes to end")
    workers = dask_cluster.worker_pids()
    leftovers = [
        p for p in dask_cluster.processes()
        if p.pid not in workers and "probe.py" in " ".join(_cmdline(p))
    ]
    assert not leftovers
    task = hs(project, pg_url, "task", "show", "1", "--json").json()
    assert task["status"] == "stopped"
    assert {e["status"] for e in executions(project, pg_url)} == {"stopped"}


def test_a_second_engine_on_the_same_task_refuses(
    project: Path, pg_url: str, dask_cluster: Cluster
) -> None:
    first = background(project, pg_url, "task", "run", "long4", "--scheduler",
                       dask_cluster.address, "--quiet")
    try:
        wait_until(lambda: len(executions(project, pg_url)) >= 2, 60, "the first engine")
        second = hs(project, pg_url, "task", "run", "long4", "--scheduler", dask_cluster.address)
        assert second.returncode == 2, second
        assert "task !1 is being driven by" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            first.kill()
    execs = executions(project, pg_url)
    assert [e["task_index"] for e in execs] == [0, 1, 2, 3]
    assert all(e["status"] == "complete" and e["attempt"] == 1 for e in execs)
    tasks = hs(project, pg_url, "task", "list", "--json").json()
    assert len(tasks) == 1


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def test_exec_run_streams_output_while_it_runs(
    project: Path, pg_url: str, dask_cluster: Cluster, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    (project / "valohai.yaml").write_text(
        PROJECT.format(probe=probe("--wait-file", str(go))), encoding="utf-8"
    )
    proc = background(project, pg_url, "exec", "run", "probe", "--x", "2",
                      "--scheduler", dask_cluster.address, "--json")

    def first_line_stored() -> bool:
        res = hs(project, pg_url, "exec", "show", "1", "--json")
        return res.returncode == 0 and res.json()["cumulative_metadata"].get("epoch") == 1

    try:
        wait_until(first_line_stored, 60, "the first metadata line in the store")
        # the program is blocked until it sees the go file: the line came while it ran
        assert hs(project, pg_url, "exec", "show", "1", "--json").json()["status"] == "started"
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
    assert (project / ".hyperstep" / "executions" / "1" / "exit.json").exists()
    assert os.path.getsize(project / ".hyperstep" / "executions" / "1" / "stdout.log") > 0
