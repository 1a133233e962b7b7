"""R19: a grid runs each point exactly once, whatever engines race for it; R20: a Bayesian task
proposes the same points after crashes as without them.

R19. A 3×4×5 grid (60 points, 8 at a time). A second ``task run`` of the same blueprint while
the first drives it is refused (the lease); the first is SIGKILLed; two ``task resume`` then
race to take over from the dead engine, and exactly one drives the task to its end. The set of
parameter tuples run is the grid, 60 rows, each program started once (contrast: Optuna's
GridSampler documents that distributed workers may run a point twice).

R20. Seeded Bayesian task (20 random + 4 proposed): two crash-free runs propose identical
sequences; a run with two crashes (one while the optimizer was asked) proposes the same again;
every proposal is inside the space; the history the engine gives the optimizer has one entry
per finished execution.
"""

from __future__ import annotations

import itertools
import signal

import pytest
from tests.invariants import check_task
from tests.reliability.support import sigkill, wait_for

from hyperstep.engine.task import TaskRunner
from hyperstep.service import context
from hyperstep.store import Store

GRID_YAML = """
- step:
    name: probe
    image: python:3.11
    command: {probe} {parameters} --sleep-range 0.1 0.3
    parameters:
      - name: a
        type: integer
        default: 0
      - name: b
        type: string
        default: p
      - name: c
        type: float
        default: 0
- task:
    name: grid60
    step: probe
    type: grid_search
    execution-batch-size: 8
    parameters:
      - name: a
        style: multiple
        rules: {items: [1, 2, 3]}
      - name: b
        style: multiple
        rules: {items: [p, q, r, s]}
      - name: c
        style: linear
        rules: {start: 0, end: 1, step: 0.25}
"""

BAYES_YAML = """
- step:
    name: probe
    image: python:3.11
    command: {probe} {parameters}
    parameters:
      - name: x
        type: float
        default: 0
      - name: n
        type: integer
        default: 1
      - name: opt
        type: string
        default: adam
- task:
    name: bayes24
    step: probe
    type: bayesian_tpe
    execution-count: 24
    execution-batch-size: 4
    optimization-target-metric: loss
    parameters:
      - name: x
        style: random
        rules: {distribution: uniform, min: -2, max: 4, step: 0.01}
      - name: n
        style: random
        rules: {distribution: integer, min: 1, max: 9}
      - name: opt
        style: multiple
        rules: {items: [adam, sgd, rmsprop]}
"""


def test_grid_runs_each_point_once_with_racing_engines(probe_project) -> None:
    project = probe_project(GRID_YAML)
    first = project.engine("task", "run", "grid60")
    wait_for(lambda: len(project.finished()) >= 4, what="a few executions done")
    second = project.cli("task", "run", "grid60")
    assert second.returncode == 2, second
    assert "being driven by" in second.stderr
    wait_for(lambda: len(project.finished()) >= 20, what="a third of the grid done")
    sigkill(first)
    racers = [project.engine("task", "resume", "1") for _ in range(2)]
    codes = []
    for racer in racers:
        racer.communicate(timeout=240)
        codes.append(racer.returncode)
    assert 0 in codes and set(codes) <= {0, 2}, codes
    summary = check_task(project.root, 1, expected=60, metric="loss", runs_file=project.runs)
    assert summary.statuses == ["complete"] * 60
    run = {(r.parameters["a"], r.parameters["b"], r.parameters["c"]) for r in summary.records}
    grid = set(itertools.product([1, 2, 3], ["p", "q", "r", "s"], [0.0, 0.25, 0.5, 0.75, 1.0]))
    assert run == grid
    assert sum(summary.starts.values()) == 60


def _proposals(root) -> list[dict]:
    with Store.open(None, root) as store:
        task = store.get_task(counter=1)
        records = store.list_executions(task_id=task.id, limit=None)
    return [r.parameters for r in sorted(records, key=lambda r: r.task_index)]


def _run_clean(probe_project, name: str) -> list[dict]:
    project = probe_project(BAYES_YAML, name=name)
    res = project.cli("task", "run", "bayes24", "--seed", "21", "--json")
    assert res.returncode == 0, res
    check_task(project.root, 1, expected=24, metric="loss", runs_file=project.runs)
    return _proposals(project.root)


def test_bayesian_proposals_are_reproducible_through_crashes(probe_project) -> None:
    clean = _run_clean(probe_project, "clean1")
    assert clean == _run_clean(probe_project, "clean2")
    project = probe_project(BAYES_YAML, name="crashy")
    for point in ("after_proposal_stored:3", "during_optimizer_update:1"):
        res = project.cli(
            "task", "run", "bayes24", "--seed", "21", env={"HYPERSTEP_CRASH_AT": point}
        )
        assert res.returncode == -signal.SIGKILL, res
    done = project.cli("task", "run", "bayes24", "--seed", "21", "--json")
    assert done.returncode == 0, done
    assert done.json()["counter"] == 1
    summary = check_task(project.root, 1, expected=24, metric="loss", runs_file=project.runs)
    assert _proposals(project.root) == clean
    for point in clean:  # inside the space, Q.Step included
        assert -2 <= point["x"] <= 4 and round(point["x"] * 100) == pytest.approx(point["x"] * 100)
        assert point["n"] in range(1, 10) and point["opt"] in ("adam", "sgd", "rmsprop")
    with context(project.root) as ctx:
        task = ctx.store.get_task(counter=1)
        history = TaskRunner(ctx.store, ctx.project, ctx.supervisor(), task)._history()
    assert len(history) == sum(1 for s in summary.statuses if s == "complete") == 24
