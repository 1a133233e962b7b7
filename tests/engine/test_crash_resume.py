"""Crash safety: ``kill -9`` of the engine at any moment loses nothing and duplicates nothing."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.helpers import PYTHON, clean_env, run_cli
from tests.invariants import check_task

PROJECT = """
- step:
    name: obj
    image: python:3.11
    command: {python} {programs}/objective.py {parameters} --epochs 2 --sleep 0.1
    parameters:
      - name: x
        type: float
        default: 0.0
      - name: y
        type: float
        default: 0.0
      - name: k
        type: integer
        default: 1
- task:
    name: bayes50
    step: obj
    type: bayesian_tpe
    execution-count: 50
    execution-batch-size: 5
    optimization-target-metric: objective
    parameters:
      - name: x
        style: random
        rules: {distribution: uniform, min: -5, max: 10}
      - name: y
        style: random
        rules: {distribution: uniform, min: 0, max: 15}
- task:
    name: bayes30
    step: obj
    type: bayesian_tpe
    execution-count: 30
    execution-batch-size: 5
    optimization-target-metric: objective
    parameters:
      - name: x
        style: random
        rules: {distribution: uniform, min: -5, max: 10}
      - name: k
        style: random
        rules: {distribution: integer, min: 1, max: 8}
"""


@pytest.fixture
def project(make_project) -> Path:
    return make_project(PROJECT)


def _engine(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [PYTHON, "-m", "hyperstep", *args, "--quiet"],
        cwd=project,
        env=clean_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _exec_dirs_with_exit(project: Path) -> int:
    return sum(1 for _ in (project / ".hyperstep" / "executions").glob("*/exit.json"))


@pytest.mark.parametrize("seed", [1])
def test_kill_9_three_times_then_resume(project: Path, seed: int) -> None:
    rng = random.Random(seed)
    proc = _engine(project, "task", "run", "bayes50", "--seed", "7")
    kills = 0
    while kills < 3:
        time.sleep(rng.uniform(1.5, 5.0))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kills += 1
        proc = _engine(project, "task", "resume", "1")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert kills >= 2  # the task was really interrupted, more than once
    summary = check_task(project, 1, expected=50, metric="objective")
    assert summary["statuses"] == ["complete"] * 50
    # None ran twice: one runner result per execution folder, 50 in all.
    assert _exec_dirs_with_exit(project) == 50


@pytest.mark.parametrize(
    "point",
    [
        "after_proposal_stored:3",
        "after_process_started:4",
        "after_process_ended:4",
        "during_optimizer_update:1",
    ],
)
def test_each_crash_point_resumes_cleanly(project: Path, point: str) -> None:
    crashed = run_cli(
        "task", "run", "bayes30", "--seed", "3", cwd=project, env={"HYPERSTEP_CRASH_AT": point}
    )
    assert crashed.returncode == -signal.SIGKILL, crashed
    time.sleep(1.0)  # let runners that were going finish while no engine watches
    res = run_cli("task", "resume", "1", "--json", cwd=project)
    assert res.returncode == 0, res
    assert res.json()["status"] == "complete"
    check_task(project, 1, expected=30, metric="objective")
    assert _exec_dirs_with_exit(project) == 30


def _proposals(project: Path, task: int) -> list[dict]:
    res = run_cli("exec", "list", "--task", str(task), "--limit", "1000", "--json", cwd=project)
    return [e["parameters"] for e in sorted(res.json(), key=lambda e: e["task_index"])]


def test_bayesian_task_is_reproducible_and_resumes_with_the_same_proposals(
    project: Path, make_project
) -> None:
    first = run_cli("task", "run", "bayes30", "--seed", "11", "--json", cwd=project)
    second = run_cli("task", "run", "bayes30", "--seed", "11", "--new", "--json", cwd=project)
    assert first.returncode == 0 and second.returncode == 0
    clean = _proposals(project, 1)
    assert clean == _proposals(project, 2)
    # A run with two crashes proposes exactly the same points.
    other = make_project(PROJECT, name="crashy")
    for nth in ("after_proposal_stored:2", "during_optimizer_update:1"):
        res = run_cli(
            "task", "run", "bayes30", "--seed", "11", cwd=other, env={"HYPERSTEP_CRASH_AT": nth}
        )
        assert res.returncode == -signal.SIGKILL, res
        time.sleep(0.5)
    done = run_cli("task", "run", "bayes30", "--seed", "11", "--json", cwd=other)
    assert done.returncode == 0, done
    assert done.json()["counter"] == 1
    assert _proposals(other, 1) == clean
