"""R7: SIGTERM to the engine; R8: failing executions and ``on-child-error``; R9: a program that
exits 0 without its metric.

R7. SIGTERM ends the engine at once (exit status -15 / 143), like ``kill -9`` but politer: it
starts nothing more, its executions keep running in their runners, and ``task resume`` adopts
them. (Ctrl-C is the way to *stop* a task: SIGTERM to the executions, then SIGKILL.)

R8. hyperstep has no ``max_failed`` count; Valohai's ``on-child-error`` is what decides.
``stop-all-and-error``: after the first failure nothing new starts, the running executions are
stopped, the task ends in ``error``. ``continue-and-error``: everything runs, the task ends in
``error``. The counts ``task show`` prints are the store's.

R9. An execution that exits 0 without printing the target metric is ``complete`` (its program
succeeded, as Valohai records it), but the engine tells the optimizer it failed (``None``), never
a made-up value, and it is never the best execution.
"""

from __future__ import annotations

import signal
import time
from collections import Counter

from tests.invariants import check_task
from tests.reliability.support import Project, wait_for

from hyperstep.engine.task import TaskRunner
from hyperstep.service import context
from hyperstep.store import Store

YAML = """
- step:
    name: slow
    image: python:3.11
    command: {probe} {parameters} --epochs 10 --sleep 0.15
    parameters:
      - name: i
        type: integer
        default: 0
- step:
    name: flaky
    image: python:3.11
    command: {probe} {parameters} --sleep 1.5 --fail-if i 1,4,7,10,13,16
    parameters:
      - name: i
        type: integer
        default: 0
- step:
    name: flaky-fast
    image: python:3.11
    command: {probe} {parameters} --fail-if i 1,4,7,10,13,16
    parameters:
      - name: i
        type: integer
        default: 0
- step:
    name: quiet
    image: python:3.11
    command: {probe} {parameters} --no-metric-if k 2,5
    parameters:
      - name: x
        type: float
        default: 0
      - name: k
        type: integer
        default: 1
- task:
    name: grid10
    step: slow
    type: grid_search
    execution-batch-size: 5
    parameters:
      - name: i
        style: linear
        rules: {start: 0, end: 9, step: 1}
- task:
    name: stop-all
    step: flaky
    type: grid_search
    execution-batch-size: 5
    on-child-error: stop-all-and-error
    parameters:
      - name: i
        style: linear
        rules: {start: 0, end: 19, step: 1}
- task:
    name: continue
    step: flaky-fast
    type: grid_search
    execution-batch-size: 5
    on-child-error: continue-and-error
    parameters:
      - name: i
        style: linear
        rules: {start: 0, end: 19, step: 1}
- task:
    name: bayes-quiet
    step: quiet
    type: bayesian_tpe
    execution-count: 24
    execution-batch-size: 2
    optimization-target-metric: loss
    parameters:
      - name: x
        style: random
        rules: {distribution: uniform, min: -3, max: 3}
      - name: k
        style: random
        rules: {distribution: integer, min: 1, max: 6}
"""


def _store_counts(project: Project) -> Counter[str]:
    with Store.open(None, project.root) as store:
        task = store.get_task(counter=1)
        return Counter(r.status.value for r in store.list_executions(task_id=task.id, limit=None))


def test_sigterm_ends_the_engine_and_resume_adopts_what_runs(probe_project) -> None:
    project = probe_project(YAML)
    proc = project.engine("task", "run", "grid10")
    wait_for(lambda: len(project.running()) == 5, what="five executions running")
    signalled = time.time()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    assert proc.returncode == -signal.SIGTERM
    with Store.open(None, project.root) as store:
        queued = [r.queue_time for r in store.list_executions(limit=None) if r.queue_time]
    assert queued and max(queued) <= signalled  # nothing started after the signal
    assert project.running(), "the executions should outlive the engine"
    res = project.cli("task", "resume", "1", "--json")
    assert res.returncode == 0, res
    summary = check_task(project.root, 1, expected=10, metric="loss", runs_file=project.runs)
    assert summary.statuses == ["complete"] * 10
    assert sum(summary.starts.values()) == 10


def test_stop_all_and_error_starts_nothing_after_the_first_failure(probe_project) -> None:
    project = probe_project(YAML)
    res = project.cli("task", "run", "stop-all", "--json")
    assert res.returncode == 1, res
    task = res.json()
    assert task["status"] == "error"
    assert "stop-all-and-error" in task["status_detail"]
    summary = check_task(project.root, 1, runs_file=project.runs)
    by_index = {r.task_index: r for r in summary.records}
    first_wave = [by_index[i] for i in range(5)]
    assert by_index[1].status.value == "error"
    assert {r.status.value for r in first_wave} <= {"error", "stopped"}
    later = [r for i, r in by_index.items() if i >= 5]
    assert all(r.start_time is None and r.status.value == "stopped" for r in later), later
    assert not any(summary.starts[r.counter] for r in later)  # no program of them ran
    shown = dict(project.cli("task", "show", "1", "--json").json()["status_summary"])
    stored = _store_counts(project)
    assert shown.pop("count") == sum(stored.values()) == 5
    assert {k: v for k, v in shown.items() if v} == {f"{s}_count": n for s, n in stored.items()}


def test_continue_and_error_runs_everything_then_errors(probe_project) -> None:
    project = probe_project(YAML)
    res = project.cli("task", "run", "continue", "--json")
    assert res.returncode == 1, res
    assert res.json()["status"] == "error"
    summary = check_task(project.root, 1, expected=20, metric="loss", runs_file=project.runs)
    counts = Counter(summary.statuses)
    assert counts == {"complete": 14, "error": 6}
    assert sum(summary.starts.values()) == 20


def test_metric_never_printed_is_told_to_the_optimizer_as_failed(probe_project) -> None:
    project = probe_project(YAML)
    res = project.cli("task", "run", "bayes-quiet", "--seed", "4", "--json")
    assert res.returncode == 0, res
    summary = check_task(project.root, 1, expected=24, metric="loss", metric_optional=True)
    silent = [r for r in summary.records if "loss" not in r.cumulative_metadata]
    assert silent, "no execution drew k=2 or k=5"
    assert all(r.status.value == "complete" and r.parameters["k"] in (2, 5) for r in silent)
    assert res.json()["best"]["counter"] not in {r.counter for r in silent}
    with context(project.root) as ctx:
        task = ctx.store.get_task(counter=1)
        runner = TaskRunner(ctx.store, ctx.project, ctx.supervisor(), task)
        history = runner._history()
    assert len(history) == 24  # one entry per finished execution
    told = {tuple(sorted(p.items())): v for p, v in history}
    for r in summary.records:
        value = told[tuple(sorted(r.parameters.items()))]
        if r in silent:
            assert value is None
        else:
            assert value == r.cumulative_metadata["loss"]
