"""R2: the engine SIGKILLs itself at each named crash point; a resume loses and repeats nothing.

``HYPERSTEP_CRASH_AT=<point>:<n>`` (see ``hyperstep.engine.crashpoints``) kills the engine the
n-th time it reaches the point. After the crash the test waits until every runner the dead
engine started has ended on its own, so the resumed engine must take those results from the
runners' ``exit.json`` files. The proofs, beyond the invariants:

* the probe's log shows every program started exactly once (nothing was re-run);
* an execution that ended while no engine ran is stored with the end time and exit code of its
  ``exit.json`` (read from the file, not observed by the new engine);
* an execution started just before the crash, whose pid the dead engine never stored, is found
  through the runner's ``pid.json`` and gets that pid;
* proposals stored before the crash are launched as stored, not drawn again.
"""

from __future__ import annotations

import json
import signal
from datetime import datetime

import pytest
from tests.invariants import check_task, wait_no_processes
from tests.reliability.support import Project

from hyperstep.store import Store

YAML = """
- step:
    name: probe
    image: python:3.11
    command: {probe} {parameters} --sleep 0.05
    parameters:
      - name: x
        type: float
        default: 0
      - name: k
        type: integer
        default: 1
- task:
    name: bayes22
    step: probe
    type: bayesian_tpe
    execution-count: 22
    execution-batch-size: 4
    optimization-target-metric: loss
    parameters:
      - name: x
        style: random
        rules: {distribution: uniform, min: -5, max: 5}
      - name: k
        style: random
        rules: {distribution: integer, min: 1, max: 8}
"""


def _records(project: Project) -> list:
    with Store.open(None, project.root) as store:
        return store.list_executions(limit=None)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def crash(project: Project, point: str) -> list:
    res = project.cli("task", "run", "bayes22", "--seed", "5", env={"HYPERSTEP_CRASH_AT": point})
    assert res.returncode == -signal.SIGKILL, res
    # Every runner the dead engine started ends on its own, while no engine watches.
    assert not wait_no_processes(project.root, timeout=60)
    return _records(project)


def resume(project: Project) -> list:
    res = project.cli("task", "resume", "1", "--json")
    assert res.returncode == 0, res
    assert res.json()["status"] == "complete"
    check_task(project.root, 1, expected=22, metric="loss", runs_file=project.runs)
    return _records(project)


def test_result_finished_while_down_is_read_from_exit_json(probe_project) -> None:
    project = probe_project(YAML)
    before = crash(project, "after_process_ended:6")
    orphans = [r for r in before if not r.status.is_final]
    assert orphans, "the crash left no execution between its end and its result"
    for r in orphans:  # ended on disk, not in the store
        assert (project.root / r.exec_dir / "exit.json").exists()
    after = {r.id: r for r in resume(project)}
    for r in orphans:
        done = after[r.id]
        exit_info = json.loads((project.root / r.exec_dir / "exit.json").read_text())
        assert done.status.value == "complete"
        assert done.exit_code == exit_info["exit_code"] == 0
        assert done.end_time == pytest.approx(_epoch(exit_info["end_time"]), abs=1e-3)
        assert done.cumulative_metadata["loss"] is not None  # its output was ingested


def test_process_started_before_its_pid_was_stored_is_adopted(probe_project) -> None:
    project = probe_project(YAML)
    before = crash(project, "after_process_started:8")
    unknown = [r for r in before if r.status.value == "queued" and r.pid is None]
    assert len(unknown) == 1, [(r.counter, r.status.value, r.pid) for r in before]
    (orphan,) = unknown
    pid_file = json.loads((project.root / orphan.exec_dir / "pid.json").read_text())
    after = {r.id: r for r in resume(project)}
    adopted = after[orphan.id]
    assert adopted.status.value == "complete"
    assert adopted.pid == pid_file["child_pid"]  # found through the runner's own record


def test_stored_proposals_are_launched_as_stored(probe_project) -> None:
    project = probe_project(YAML)
    before = crash(project, "after_proposal_stored:4")
    stored = {r.task_index: r.parameters for r in before}
    created = [r for r in before if r.status.value == "created"]
    assert created, "the crash left no stored proposal waiting to start"
    after = resume(project)
    assert {r.task_index: r.parameters for r in after if r.task_index in stored} == stored


def test_crash_during_optimizer_update(probe_project) -> None:
    project = probe_project(YAML)
    before = crash(project, "during_optimizer_update:1")
    assert len(before) == 20 and all(r.status.value == "complete" for r in before)
    after = resume(project)
    assert [r.task_index for r in after] == list(range(22))
