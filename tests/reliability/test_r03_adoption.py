"""R3 (and R2's "between metric rows"): an engine restarted while executions run adopts them.

The engine is SIGKILLed while five executions are printing metadata, twice in a row, and resumed
at once each time. The resumed engine must adopt the five running programs (none is started
again), go on reading their log files from the offsets the store had, and so record every
metadata line exactly once, in order: no line lost between the dead engine's last stored batch
and the new engine's first, none stored twice.
"""

from __future__ import annotations

from tests.invariants import check_task
from tests.reliability.support import sigkill, wait_for

from hyperstep.store import Store

EPOCHS = 25

YAML = f"""
- step:
    name: probe
    image: python:3.11
    command: {{probe}} {{parameters}} --epochs {EPOCHS} --sleep 0.08
    parameters:
      - name: i
        type: integer
        default: 0
- task:
    name: grid10
    step: probe
    type: grid_search
    execution-batch-size: 5
    parameters:
      - name: i
        style: multiple
        rules: {{items: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}}
"""


def _printing(project) -> list:
    """Execution folders whose program runs and has printed a few metric lines already."""
    return [
        d
        for d in project.running()
        if (d / "stdout.log").exists() and (d / "stdout.log").read_bytes().count(b"\n") >= 3
    ]


def test_running_executions_are_adopted_and_no_line_is_lost_or_doubled(probe_project) -> None:
    project = probe_project(YAML)
    proc = project.engine("task", "run", "grid10")
    for _ in range(2):
        wait_for(lambda: len(_printing(project)) == 5, what="five executions printing")
        sigkill(proc)
        proc = project.engine("task", "resume", "1")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    summary = check_task(project.root, 1, expected=10, metric="loss", runs_file=project.runs)
    assert summary.statuses == ["complete"] * 10
    assert sum(summary.starts.values()) == 10  # adopted, never started again
    with Store.open(None, project.root) as store:
        for record in summary.records:
            events = store.get_events(record.id)
            assert [e.data["epoch"] for e in events] == list(range(1, EPOCHS + 1)), record.counter
            logs = [line.message for line in store.get_logs(record.id, stream="stdout")]
            assert len(logs) == EPOCHS, record.counter
