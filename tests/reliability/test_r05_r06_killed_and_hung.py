"""R5: a SIGKILLed execution, or a killed runner, is recorded failed and the task goes on; a
poison execution costs a bounded number of attempts. R6: a hung execution is stopped by the
step's ``time-limit``.

An execution whose *program* was killed (the OOM killer, a user's ``kill -9``) is an ``error``
with the signal in its detail, exactly once: hyperstep does not re-run a program that failed,
so a program that always kills itself costs one attempt, never an endless loop (Celery's requeue
loops). An execution whose *runner* was lost (a dead worker, a SIGKILLed shim) is ``crashed``,
or, with ``--retries N``, run again in a fresh ``attempt-<n>`` folder up to N more times; a
run lost every time makes exactly 1 + N attempts, never two at once, then stays ``crashed``.
The task continues under ``on-child-error: continue-and-complete``.
"""

from __future__ import annotations

import time

import psutil
from tests.invariants import (
    check_task,
    project_processes,
    starts_per_counter,
    wait_no_processes,
)
from tests.reliability.support import wait_for

from hyperstep.store import Store

YAML = """
- step:
    name: probe
    image: python:3.11
    command: {probe} {parameters} --epochs 30 --sleep 0.1 --kill-self-if i 4
    parameters:
      - name: i
        type: integer
        default: 0
- step:
    name: poison-runner
    image: python:3.11
    command: {probe} {parameters} --kill-runner-if i 1
    parameters:
      - name: i
        type: integer
        default: 0
- task:
    name: lost3
    step: poison-runner
    type: grid_search
    execution-batch-size: 3
    on-child-error: continue-and-complete
    parameters:
      - name: i
        style: multiple
        rules: {items: [0, 1, 2]}
- step:
    name: hung
    image: python:3.11
    time-limit: 1
    command: {probe} --grandchild --epochs 1 --sleep 6
- task:
    name: grid6
    step: probe
    type: grid_search
    execution-batch-size: 6
    on-child-error: continue-and-complete
    parameters:
      - name: i
        style: multiple
        rules: {items: [0, 1, 2, 3, 4, 5]}
"""


def _process_of(project, counter: int, *, shim: bool) -> psutil.Process | None:
    """Execution #counter's runner shim, or its program (the probe itself)."""
    for proc in project_processes(project.root):
        try:
            env = proc.environ()
            argv = proc.cmdline()
        except psutil.Error:
            continue
        if env.get("HYPERSTEP_EXECUTION_COUNTER") != str(counter) or len(argv) < 2:
            continue
        if shim and "hyperstep.executors.shim" in argv:
            return proc
        if not shim and argv[1].endswith("probe.py"):
            return proc
    return None


def test_killed_child_is_an_error_once_and_the_task_goes_on(probe_project) -> None:
    project = probe_project(YAML)
    proc = project.engine("task", "run", "grid6")
    # The runner of #2 (i=1) is killed; the program of #3 (i=2) too, as the OOM killer would.
    for counter, shim in ((2, True), (3, False)):
        if not shim:  # the program is really running, not still starting its interpreter
            wait_for(lambda: starts_per_counter(project.runs)[3] == 1, what="#3 started")
        wait_for(lambda: _process_of(project, counter, shim=shim), what=f"#{counter}")
        victim = _process_of(project, counter, shim=shim)
        assert victim is not None
        victim.kill()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    summary = check_task(project.root, 1, expected=6, metric="loss", runs_file=project.runs)
    by_index = {r.task_index: r for r in summary.records}
    runner_lost = by_index[1]
    assert runner_lost.status.value == "crashed", runner_lost
    assert "vanished" in (runner_lost.status_detail or "")
    for index in (2, 4):  # killed from outside; killed itself (the poison execution)
        record = by_index[index]
        assert record.status.value == "error", record
        assert "signal 9" in (record.status_detail or "") or record.exit_code == 137, record
    for index in (2, 4):
        assert summary.starts[by_index[index].counter] == 1  # one attempt, never re-run
    assert summary.starts[runner_lost.counter] <= 1  # it may have died before its program
    assert [by_index[i].status.value for i in (0, 3, 5)] == ["complete"] * 3
    with Store.open(None, project.root) as store:
        task = store.get_task(counter=1)
    assert task.status.value == "complete"  # continue-and-complete


def test_a_run_lost_every_time_is_retried_a_bounded_number_of_times(probe_project) -> None:
    project = probe_project(YAML)
    res = project.cli("task", "run", "lost3", "--retries", "2", "--json")
    assert res.returncode == 0, res
    assert res.json()["status"] == "complete"  # continue-and-complete: the task goes on
    summary = check_task(project.root, 1, expected=3, metric="loss", runs_file=project.runs)
    by_index = {r.task_index: r for r in summary.records}
    poison = by_index[1]
    assert poison.status.value == "crashed" and poison.attempt == 3, poison
    assert summary.starts[poison.counter] == 3  # 1 + retries, then it stays terminal
    assert len(summary.attempts[poison.counter]) == 3  # three runner records, none overlapping
    for index in (0, 2):
        assert by_index[index].status.value == "complete" and by_index[index].attempt == 1


def test_time_limit_stops_a_hung_execution_and_its_grandchild(probe_project) -> None:
    project = probe_project(YAML)
    started = time.monotonic()
    res = project.cli("exec", "run", "hung", "--json", timeout=120)
    took = time.monotonic() - started
    record = res.json()
    assert not wait_no_processes(project.root, timeout=15)  # grandchild included
    assert record["status"] in ("error", "stopped"), (record["status"], took)
    assert "time limit" in (record["status_detail"] or "")
    assert res.returncode == 1
