"""R1 / R4: ``kill -9`` of the engine at random moments loses nothing and runs nothing twice.

A random search of 50 executions (0.1–0.5 s each, 5 at a time) is SIGKILLed three times at
seeded random moments and resumed each time with ``hyperstep task resume``. Afterwards the
invariants hold, all 50 executions are complete, and the probe's own log shows that each program
started exactly once: nothing the dead engine had launched was launched again (the catalogue
allows ``50 + 5 × kills`` attempts; hyperstep makes exactly 50). The per-change tier runs three
seeds, the slow tier fifty.
"""

from __future__ import annotations

import random
import subprocess

import pytest
from tests.invariants import check_task
from tests.reliability.support import sigkill, wait_for

YAML = """
- step:
    name: probe
    image: python:3.11
    command: {probe} {parameters} --sleep-range 0.1 0.5
    parameters:
      - name: x
        type: float
        default: 0
- task:
    name: random50
    step: probe
    type: random_search
    execution-count: 50
    execution-batch-size: 5
    optimization-target-metric: loss
    parameters:
      - name: x
        style: random
        rules: {distribution: uniform, min: -5, max: 5}
"""

KILLS = 3


def kill_and_resume(probe_project, seed: int) -> dict[str, int]:
    project = probe_project(YAML, name=f"seed{seed}")
    rng = random.Random(seed)
    proc = project.engine("task", "run", "random50", "--seed", str(seed))
    kills = 0
    while kills < KILLS:
        # Kill once some executions have finished, at a random moment after that.
        done_before = len(project.finished())
        wait_for(lambda: len(project.finished()) > done_before or proc.poll() is not None)
        deadline = rng.uniform(0.0, 1.5)
        try:
            proc.wait(timeout=deadline)
        except subprocess.TimeoutExpired:  # still running: this is the moment
            sigkill(proc)
            kills += 1
            proc = project.engine("task", "resume", "1")
            continue
        break  # it finished before the kill
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    summary = check_task(project.root, 1, expected=50, metric="loss", runs_file=project.runs)
    assert summary.statuses == ["complete"] * 50
    assert sum(summary.starts.values()) == 50  # attempts == executions: nothing re-run
    return {"kills": kills}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_at_random_moments(probe_project, seed: int) -> None:
    result = kill_and_resume(probe_project, seed)
    assert result["kills"] == KILLS, "the task ended before it could be killed three times"


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 150))
def test_kill_9_at_random_moments_many_seeds(probe_project, seed: int) -> None:
    result = kill_and_resume(probe_project, seed)
    assert result["kills"] >= 1
