"""R12: task leases — one engine per task, take-over after expiry, and self-fencing.

* A lease row whose expiry was never written (an engine that died between claiming and its
  first heartbeat, in the shape of Airflow's NULL pitfall) counts as free.
* A lease held by an engine that never renews it is refused while valid and taken over once it
  expires. The holder is on another host, so the "dead owner on this host" shortcut cannot help:
  only the database clock can.
* Self-fencing: an engine frozen (SIGSTOP) past its lease loses the task to a second engine,
  which adopts the running executions and finishes the task; when the first engine wakes up, it
  finds its lease gone and stops without touching the executions. Every program ran once.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa
from tests.helpers import PYTHON, clean_env
from tests.invariants import check_task
from tests.reliability.support import Project, wait_for

from hyperstep.service import context, create_task, spec_from_blueprint
from hyperstep.store import Store

SCRIPT = Path(__file__).resolve().with_name("engine_script.py")

YAML = """
- step:
    name: probe
    image: python:3.11
    command: {probe} {parameters} --epochs 10 --sleep 0.2
    parameters:
      - name: i
        type: integer
        default: 0
- task:
    name: grid6
    step: probe
    type: grid_search
    execution-batch-size: 3
    parameters:
      - name: i
        style: linear
        rules: {start: 0, end: 5, step: 1}
"""

FOREIGN_OWNER = "another-host.example:4242:1700000000000:deadbeef"


def _create(project: Project) -> str:
    with context(project.root) as ctx:
        return create_task(ctx, spec_from_blueprint(ctx, "grid6")).id


def _db(project: Project) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{project.root / '.hyperstep' / 'hyperstep.db'}")


def test_a_lease_whose_expiry_was_never_written_is_free(probe_project) -> None:
    project = probe_project(YAML)
    task_id = _create(project)
    engine = _db(project)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE tasks SET lease_owner = :o, lease_expires = NULL WHERE id = :i"),
            {"o": FOREIGN_OWNER, "i": task_id},
        )
    engine.dispose()
    with Store.open(None, project.root) as store:
        assert store.lease_info(task_id) is None
        assert store.acquire_lease(task_id, "me", 5.0)


def test_a_lease_never_renewed_is_taken_over_after_it_expires(probe_project) -> None:
    project = probe_project(YAML)
    task_id = _create(project)
    with Store.open(None, project.root) as store:
        assert store.acquire_lease(task_id, FOREIGN_OWNER, 120.0)
        refused = project.cli("task", "resume", "1")
        assert refused.returncode == 2, refused
        assert "another-host.example" in refused.stderr
        # Its last renewal: one more second, then silence.
        assert store.renew_lease(task_id, FOREIGN_OWNER, 1.0)
        expires = store.lease_info(task_id)[1]
        wait_for(lambda: store.now() > expires + 0.2, timeout=30, what="the lease to expire")
    res = project.cli("task", "resume", "1", "--json")
    assert res.returncode == 0, res
    assert res.json()["status"] == "complete"
    check_task(project.root, 1, expected=6, metric="loss", runs_file=project.runs)


def test_a_frozen_engine_loses_its_lease_and_fences_itself(probe_project) -> None:
    project = probe_project(YAML)
    _create(project)
    first = subprocess.Popen(
        [PYTHON, str(SCRIPT), str(project.root), "1", "1.5"],
        env=clean_env(project.env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: len(project.running()) == 3, what="three executions running")
        first.send_signal(signal.SIGSTOP)
        time.sleep(2.0)  # past the 1.5 s lease: the frozen engine cannot renew it
        second = project.cli("task", "resume", "1", "--json")
        assert second.returncode == 0, second
        assert second.json()["status"] == "complete"
    finally:
        first.send_signal(signal.SIGCONT)
    out, err = first.communicate(timeout=60)
    # Woken in its wait, it finds its lease gone; woken in the middle of ingesting output, the
    # store refuses its stale offsets first. Either way it stops having changed nothing.
    assert first.returncode != 0, (out, err)
    assert "lost the lease" in err or "offset" in err, err[-2000:]
    summary = check_task(project.root, 1, expected=6, metric="loss", runs_file=project.runs)
    assert summary.statuses == ["complete"] * 6
    assert sum(summary.starts.values()) == 6  # adopted by the second engine, never re-run
