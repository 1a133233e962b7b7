"""Tasks end to end through the real ``hyperstep task`` command: grids, batches, stopping."""

from __future__ import annotations

import csv
import io
import itertools
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.helpers import PYTHON, clean_env, run_cli

PROJECT = """
- step:
    name: obj
    image: python:3.11
    command: {python} {programs}/objective.py {parameters} --sleep 0.05
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
      - name: opt
        type: string
        default: adam
- step:
    name: slowobj
    image: python:3.11
    command: {python} {programs}/objective.py {parameters} --epochs 3 --sleep 0.3
    parameters:
      - name: a
        type: float
        default: 0.0
      - name: b
        type: integer
        default: 1

- task:
    name: grid60
    step: obj
    type: grid_search
    execution-batch-size: 4
    parameters:
      - name: x
        style: linear
        rules: {start: 0, end: 1, step: 0.5}
      - name: k
        style: multiple
        rules: {items: [1, 2, 3, 4]}
      - name: y
        style: logspace
        rules: {min: 0, max: 2, count: 5}

- task:
    name: bayes30
    step: slowobj
    type: bayesian_tpe
    execution-count: 30
    execution-batch-size: 5
    optimization-target-metric: objective
    parameters:
      - name: a
        style: random
        rules: {distribution: uniform, min: -2, max: 4}
      - name: b
        style: random
        rules: {distribution: integer, min: 1, max: 5}

- task:
    name: queued
    step: slowobj
    type: random_search
    execution-count: 8
    execution-batch-size: 5
    maximum-queued-executions: 2
    parameters:
      - name: a
        style: random
        rules: {distribution: uniform, min: -2, max: 4}

- task:
    name: small-bayes
    step: obj
    type: bayesian_tpe
    execution-count: 6
    execution-batch-size: 3
    optimization-target-metric: objective
    parameters:
      - name: x
        style: random
        rules: {distribution: uniform, min: -1, max: 3}

- task:
    name: manual
    step: obj
    type: manual_search
    parameter-sets:
      - {x: 1, opt: adam}
      - {x: 2, opt: sgd}
      - {x: 3, opt: adam}
"""


@pytest.fixture
def project(make_project) -> Path:
    return make_project(PROJECT)


def _executions(project: Path, task: int = 1) -> list[dict]:
    res = run_cli("exec", "list", "--task", str(task), "--limit", "100000", "--json", cwd=project)
    assert res.returncode == 0, res
    return sorted(res.json(), key=lambda e: e["task_index"])


def _times(e: dict) -> tuple[float, float]:
    from datetime import datetime

    return (
        datetime.fromisoformat(e["start_time"]).timestamp(),
        datetime.fromisoformat(e["end_time"]).timestamp(),
    )


def _max_overlap(execs: list[dict]) -> int:
    points = []
    for e in execs:
        start, end = _times(e)
        points += [(start, 1), (end, -1)]
    points.sort(key=lambda p: (p[0], p[1]))
    level = peak = 0
    for _, delta in points:
        level += delta
        peak = max(peak, level)
    return peak


def test_grid_runs_every_point_exactly_once(project: Path) -> None:
    res = run_cli("task", "run", "grid60", "--json", cwd=project)
    assert res.returncode == 0, res
    task = res.json()
    assert task["status"] == "complete"
    assert task["status_summary"]["complete_count"] == 60
    execs = _executions(project)
    seen = {(e["parameters"]["x"], e["parameters"]["k"], e["parameters"]["y"]) for e in execs}
    expected = set(
        itertools.product([0.0, 0.5, 1.0], [1, 2, 3, 4], [1.0, 10**0.5, 10.0, 10**1.5, 100.0])
    )
    assert len(execs) == 60
    assert {(x, k, round(y, 6)) for x, k, y in seen} == {
        (x, k, round(y, 6)) for x, k, y in expected
    }
    assert [e["task_index"] for e in execs] == list(range(60))
    assert _max_overlap(execs) <= 4


def test_grid_survives_an_engine_crash(project: Path) -> None:
    crashed = run_cli(
        "task", "run", "grid60", cwd=project, env={"HYPERSTEP_CRASH_AT": "after_proposal_stored:6"}
    )
    assert crashed.returncode == -9, crashed
    partial = _executions(project)
    assert 0 < len(partial) < 60
    res = run_cli("task", "run", "grid60", "--json", cwd=project)  # same blueprint: resumes
    assert res.returncode == 0, res
    assert res.json()["counter"] == 1
    execs = _executions(project)
    assert len(execs) == 60
    assert [e["task_index"] for e in execs] == list(range(60))
    keys = [(e["parameters"]["x"], e["parameters"]["k"], e["parameters"]["y"]) for e in execs]
    assert len(set(keys)) == 60
    assert all(e["status"] == "complete" for e in execs)


def test_bayesian_batches_are_synchronous_and_capped(project: Path) -> None:
    res = run_cli("task", "run", "bayes30", "--seed", "3", "--json", cwd=project)
    assert res.returncode == 0, res
    execs = _executions(project)
    assert len(execs) == 30
    assert all(e["status"] == "complete" for e in execs)
    assert _max_overlap(execs) <= 5
    # After the 20 random start-up executions, batches of 5: each starts after the previous ended.
    batches = [execs[i : i + 5] for i in range(20, 30, 5)]
    previous_end = max(_times(e)[1] for e in execs[:20])
    for batch in batches:
        assert min(_times(e)[0] for e in batch) >= previous_end - 1e-3
        previous_end = max(_times(e)[1] for e in batch)
    best = res.json()["best"]
    assert best is not None and best["metric"] == "objective"
    assert best["value"] == min(e["cumulative_metadata"]["objective"] for e in execs)


def test_maximum_queued_executions_caps_concurrency(project: Path) -> None:
    res = run_cli("task", "run", "queued", "--json", cwd=project)
    assert res.returncode == 0, res
    execs = _executions(project)
    assert len(execs) == 8
    assert _max_overlap(execs) <= 2


def test_small_bayesian_task_runs_as_random_search_and_says_so(project: Path) -> None:
    res = run_cli("task", "run", "small-bayes", "--json", cwd=project)
    assert res.returncode == 0, res
    assert "random search" in (res.json()["status_detail"] or "")
    dry = run_cli("task", "run", "small-bayes", "--dry-run", cwd=project)
    assert "random search" in dry.stdout


def test_manual_search_runs_one_execution_per_set(project: Path) -> None:
    res = run_cli("task", "run", "manual", "--json", cwd=project)
    assert res.returncode == 0, res
    execs = _executions(project)
    assert [(e["parameters"]["x"], e["parameters"]["opt"]) for e in execs] == [
        (1.0, "adam"),
        (2.0, "sgd"),
        (3.0, "adam"),
    ]


def test_dry_run_prints_the_grid_and_runs_nothing(project: Path) -> None:
    res = run_cli("task", "run", "grid60", "--dry-run", "--json", cwd=project)
    assert res.returncode == 0, res
    info = res.json()
    assert info["count"] == 60
    assert len(info["points"]) == 60
    assert run_cli("task", "list", "--json", cwd=project).json() == []
    text = run_cli("task", "run", "grid60", "--dry-run", cwd=project)
    assert "60 executions" in text.stdout


def test_task_create_from_the_command_line(project: Path) -> None:
    args = [
        "task",
        "create",
        "obj",
        "--type",
        "random_search",
        "--param",
        "x=uniform(0,2,step=0.5)",
        "--param",
        "k=integer(1,3)",
        "--param",
        "opt=categorical(adam,sgd)",
        "--execution-count",
        "6",
        "--batch-size",
        "2",
        "--metric",
        "objective",
        "--seed",
        "1",
    ]
    printed = run_cli(*args, "--print-blueprint", cwd=project)
    assert printed.returncode == 0, printed
    assert "- task:" in printed.stdout and "random_search" in printed.stdout
    res = run_cli(*args, "--json", cwd=project)
    assert res.returncode == 0, res
    execs = _executions(project)
    assert len(execs) == 6
    for e in execs:
        assert e["parameters"]["x"] in (0.0, 0.5, 1.0, 1.5, 2.0)
        assert e["parameters"]["k"] in (1, 2, 3)
        assert e["parameters"]["opt"] in ("adam", "sgd")
    # the same seed proposes the same points
    again = run_cli(*args, "--json", cwd=project)
    assert again.returncode == 0
    second = _executions(project, task=2)
    assert [e["parameters"] for e in second] == [e["parameters"] for e in execs]


def test_task_show_and_export(project: Path) -> None:
    assert run_cli("task", "run", "manual", "--quiet", cwd=project).returncode == 0
    show = run_cli("task", "show", "1", "--json", cwd=project).json()
    for key in ("counter", "type", "status", "configuration", "status_summary", "executions"):
        assert key in show
    assert show["executions"] == [1, 2, 3]
    exported = run_cli("task", "export", "1", "--format", "csv", cwd=project)
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [r["x"] for r in rows] == ["1.0", "2.0", "3.0"]
    assert all(r["objective"] for r in rows)
    as_json = run_cli("task", "export", "1", "--format", "json", cwd=project).json()
    assert [e["counter"] for e in as_json] == [1, 2, 3]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (["--param", "x=gaussian(0,1)"], "gaussian"),
        (["--param", "x=uniform(3,1)"], "min"),
        (["--param", "x=uniform(0,1,step=0)"], "step"),
        (["--param", "opt=categorical()"], "categorical"),
        (["--param", "nope=uniform(0,1)"], "nope"),
        (["--execution-count", "", "--param", "x=uniform(0,1)"], "execution"),
        (["--stop-condition", "objective >", "--param", "x=uniform(0,1)"], "stop-condition"),
        (["--engine", "nonexistent", "--param", "x=uniform(0,1)"], "engine"),
    ],
)
def test_bad_task_input_is_refused_and_changes_nothing(
    project: Path, params: list[str], message: str
) -> None:
    base = ["task", "create", "obj", "--type", "bayesian_tpe", "--metric", "objective"]
    if "--execution-count" not in params:
        base += ["--execution-count", "30"]
    else:
        params = params[2:]
    res = run_cli(*base, *params, cwd=project)
    assert res.returncode == 2, res
    assert message in res.stderr.lower() or message in res.stderr
    assert "Traceback" not in res.stderr
    assert run_cli("task", "list", "--json", cwd=project).json() == []
    assert run_cli("exec", "list", "--json", cwd=project).json() == []


def test_unknown_blueprint(project: Path) -> None:
    res = run_cli("task", "run", "nope", cwd=project)
    assert res.returncode == 2
    assert "nope" in res.stderr and "grid60" in res.stderr


STOP_PROJECT = """
- step:
    name: slow
    image: python:3.11
    command:
      - {python} {programs}/objective.py {parameters} --epochs 3 --sleep 0.4
      - sleep 60
    parameters:
      - name: x
        type: float
        default: 0.0
- task:
    name: stopper
    step: slow
    type: random_search
    execution-count: 12
    execution-batch-size: 2
    stop-condition: objective < 1.5
    parameters:
      - name: x
        style: random
        rules: {distribution: uniform, min: 0.999, max: 1.0}
"""


def test_stop_condition_stops_the_task_and_running_executions(make_project) -> None:
    project = make_project(STOP_PROJECT)
    started = time.monotonic()
    res = run_cli("task", "run", "stopper", "--json", cwd=project, timeout=120)
    elapsed = time.monotonic() - started
    assert res.returncode == 0, res
    task = res.json()
    assert task["status"] == "stopped"
    assert task["stopped_by_execution"] in (1, 2)
    assert "objective < 1.5" in task["status_detail"]
    execs = _executions(project)
    # x≈1 gives objective ≈0 on the last epoch (2, 1, 0): the first two executions meet it,
    # then the programs would hold for 60 s; they are stopped instead, and nothing new starts.
    assert len(execs) == 2
    assert {e["status"] for e in execs} <= {"stopped", "complete"}
    assert elapsed < 60


def test_on_child_error_policies(make_project) -> None:
    text = """
    - step:
        name: obj
        image: python:3.11
        command: {python} {programs}/objective.py {parameters} --fail-above 5
        parameters:
          - name: x
            type: float
            default: 0.0
    - task:
        name: POLICY
        step: obj
        type: grid_search
        execution-batch-size: 1
        on-child-error: POLICY
        parameters:
          - name: x
            style: multiple
            rules: {items: [1, 10, 2, 3]}
    """
    results = {}
    for policy in ("continue-and-complete", "continue-and-error", "stop-all-and-error"):
        project = make_project(text.replace("POLICY", policy), name=policy)
        res = run_cli("task", "run", policy, "--json", cwd=project)
        results[policy] = (res.json()["status"], len(_executions(project)))
    assert results["continue-and-complete"] == ("complete", 4)
    assert results["continue-and-error"] == ("error", 4)
    status, count = results["stop-all-and-error"]
    assert status == "error" and count == 2


def test_task_stop_from_another_process(make_project) -> None:
    project, proc = _engine_without_stop_condition(make_project)
    _wait_until_started(project, proc)
    stop = run_cli("task", "stop", "1", cwd=project)
    assert stop.returncode == 0, stop
    assert proc.wait(timeout=60) == 1  # stopped before it ended: not a success
    task = run_cli("task", "show", "1", "--json", cwd=project).json()
    assert task["status"] == "stopped"
    assert all(e["status"] in ("stopped", "complete") for e in _executions(project))


def test_second_engine_on_the_same_task_refuses(make_project) -> None:
    project, proc = _engine_without_stop_condition(make_project)
    try:
        _wait_until_started(project, proc)
        second = run_cli("task", "resume", "1", cwd=project)
        assert second.returncode == 2, second
        assert "being driven by" in second.stderr
    finally:
        run_cli("task", "stop", "1", cwd=project)
        proc.wait(timeout=60)
    execs = _executions(project)
    assert len({e["task_index"] for e in execs}) == len(execs)


def test_hyperopt_engine_runs_a_bayesian_task(make_project) -> None:
    project = make_project(
        PROJECT.replace("execution-count: 30", "execution-count: 25").replace(
            "    optimization-target-metric: objective\n    parameters:\n      - name: a",
            "    optimization-target-metric: objective\n    engine: hyperopt\n"
            "    parameters:\n      - name: a",
        )
    )
    res = run_cli("task", "run", "bayes30", "--seed", "2", "--json", cwd=project)
    assert res.returncode == 0, res
    assert res.json()["configuration"]["engine"] == "hyperopt"
    execs = _executions(project)
    assert len(execs) == 25 and all(e["status"] == "complete" for e in execs)
    for e in execs:
        assert -2 <= e["parameters"]["a"] <= 4 and 1 <= e["parameters"]["b"] <= 5


def test_maximize_direction_ranks_the_largest_first(project: Path) -> None:
    args = [
        "task",
        "create",
        "obj",
        "--type",
        "grid_search",
        "--param",
        "x=multiple(0,1,3)",
        "--metric",
        "objective",
        "--maximize",
        "--json",
    ]
    res = run_cli(*args, cwd=project)
    assert res.returncode == 0, res
    best = res.json()["best"]
    values = {
        e["parameters"]["x"]: e["cumulative_metadata"]["objective"] for e in _executions(project)
    }
    assert len(values) == 3
    assert best["parameters"]["x"] == max(values, key=values.__getitem__)
    assert best["value"] == max(values.values())


def test_ctrl_c_stops_a_running_task(make_project) -> None:
    project, proc = _engine_without_stop_condition(make_project)
    _wait_until_started(project, proc)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 1
    task = run_cli("task", "show", "1", "--json", cwd=project).json()
    assert task["status"] == "stopped"
    assert "interrupted" in task["status_detail"]
    assert all(e["status"] in ("stopped", "complete") for e in _executions(project))
    from tests.invariants import wait_no_processes

    assert wait_no_processes(project) == []


def _wait_until_started(project: Path, proc: subprocess.Popen) -> None:
    """Wait until the engine in ``proc`` runs an execution (fails clearly if it never does)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        res = run_cli("exec", "list", "--json", cwd=project)
        if res.returncode == 0 and any(e["status"] == "started" for e in res.json()):
            return
        time.sleep(0.2)
    raise AssertionError("the task never started an execution")


def _engine_without_stop_condition(make_project) -> tuple[Path, subprocess.Popen]:
    """The ``stopper`` task without its stop condition, run by an engine in the background."""
    project = make_project(STOP_PROJECT.replace("stop-condition: objective < 1.5", ""))
    proc = subprocess.Popen(
        [PYTHON, "-m", "hyperstep", "task", "run", "stopper", "--quiet"],
        cwd=project,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return project, proc
