"""``hyperstep cluster up / status / down``: real processes, stopped by their recorded pids."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
from tests.cluster.support import alive, probe
from tests.helpers import run_cli

STEP = f"""
- step:
    name: where
    image: python:3.11
    command: {probe("--epochs", "1", "--sleep", "0")}
"""


def family(pids: list[int]) -> list[psutil.Process]:
    found = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
        except psutil.Error:
            continue
        found.append(proc)
        found.extend(proc.children(recursive=True))
    return found


def test_up_status_down_leaves_nothing_behind(tmp_path: Path) -> None:
    project = ["--project", str(tmp_path)]
    up = run_cli(
        *project,
        "cluster",
        "up",
        "--local",
        "1",
        "--slots",
        "2",
        "--no-nanny",
        "--json",
        timeout=120,
    )
    assert up.returncode == 0, up
    state = up.json()
    pids = [p["pid"] for p in state["processes"]]
    procs = family(pids)
    try:
        assert [p["role"] for p in state["processes"]] == ["scheduler", "worker"]
        assert state["address"].startswith("tcp://127.0.0.1:")
        recorded = json.loads((tmp_path / ".hyperstep" / "cluster" / "cluster.json").read_text())
        assert recorded["address"] == state["address"]
        status = run_cli(*project, "cluster", "status", "--json")
        assert status.returncode == 0, status
        workers = status.json()["workers"]
        assert len(workers) == 1
        assert workers[0]["resources"] == {"slots": 2.0} and workers[0]["nthreads"] == 2
        again = run_cli(*project, "cluster", "up", "--local", "1")
        assert again.returncode == 2 and "already up" in again.stderr, again
        text = run_cli(*project, "cluster", "status")
        assert state["address"] in text.stdout and "slots=2" in text.stdout
        # --executor dask alone finds the project's local cluster
        (tmp_path / "valohai.yaml").write_text(STEP, encoding="utf-8")
        ran = run_cli(*project, "exec", "run", "where", "--executor", "dask", "--json")
        assert ran.returncode == 0, ran
        assert ran.json()["cumulative_metadata"]["worker"].startswith("tcp://127.0.0.1:")
    finally:
        down = run_cli(*project, "cluster", "down", "--json", timeout=120)
        left = alive(procs)
        for proc in left:
            proc.kill()
    assert down.returncode == 0, down
    assert sorted(down.json()["stopped"]) == sorted(pids)
    assert not left, [p.pid for p in left]
    assert not (tmp_path / ".hyperstep" / "cluster" / "cluster.json").exists()
    none = run_cli(*project, "cluster", "down")
    assert none.returncode == 0 and "No local cluster" in none.stderr
    status = run_cli(*project, "cluster", "status", "--json")
    assert status.json() == {"address": None, "workers": []}


def test_up_needs_local(tmp_path: Path) -> None:
    res = run_cli("--project", str(tmp_path), "cluster", "up")
    assert res.returncode == 2
    assert "--local" in res.stderr and "dask worker" in res.stderr
    assert "Traceback" not in res.stderr


def test_running_on_dask_without_a_scheduler_says_how_to_get_one(tmp_path: Path) -> None:
    (tmp_path / "valohai.yaml").write_text(
        "- step:\n    name: s\n    image: python:3.11\n    command: 'true'\n", encoding="utf-8"
    )
    res = run_cli("exec", "run", "s", "--executor", "dask", cwd=tmp_path)
    assert res.returncode == 2, res
    assert "no Dask scheduler" in res.stderr and "cluster up --local" in res.stderr
    assert "Traceback" not in res.stderr
