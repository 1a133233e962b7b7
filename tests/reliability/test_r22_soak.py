"""R22 (slow tier): 2,000 short executions, four at a time; the engine does not leak.

Sampled every half second once 200 executions are done (the warm-up): the engine's resident
memory grows by less than 20 %, its open file descriptors stay within ±10, and runner processes
that ended are reaped (never more zombies than the batch size at one time, none at the end).
"""

from __future__ import annotations

import threading
import time

import psutil
import pytest
from tests.invariants import check_task

COUNT = 2000
BATCH = 4

YAML = f"""
- step:
    name: quick
    image: busybox
    command: >-
      sleep 0.05 && printf '{{"loss": %s}}\\n' {{parameter-value:i}}
    parameters:
      - name: i
        type: integer
        default: 0
- task:
    name: soak
    step: quick
    type: grid_search
    execution-batch-size: {BATCH}
    parameters:
      - name: i
        style: linear
        rules: {{start: 1, end: {COUNT}, step: 1}}
"""


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_two_thousand_executions_leak_nothing(probe_project) -> None:
    project = probe_project(YAML)
    folders = project.root / ".hyperstep" / "executions"
    engine = project.engine("task", "run", "soak")
    proc = psutil.Process(engine.pid)
    samples: list[tuple[int, int, int]] = []  # (rss, fds, zombies) after the warm-up

    def done() -> int:
        return len(list(folders.glob("*/exit.json"))) if folders.exists() else 0

    def sample() -> None:
        warm = False
        while engine.poll() is None:
            time.sleep(0.5)
            warm = warm or done() >= 200
            if not warm:
                continue
            try:
                zombies = sum(1 for c in proc.children() if c.status() == psutil.STATUS_ZOMBIE)
                samples.append((proc.memory_info().rss, proc.num_fds(), zombies))
            except psutil.Error:
                return

    thread = threading.Thread(target=sample)
    thread.start()
    _, err = engine.communicate(timeout=3500)
    thread.join()
    assert engine.returncode == 0, err
    summary = check_task(project.root, 1, expected=COUNT, metric="loss")
    assert summary.statuses.count("complete") == COUNT
    rss0, fds0, _ = samples[0]
    max_rss = max(s[0] for s in samples)
    fds = [s[1] for s in samples]
    zombies = max(s[2] for s in samples)
    print(
        f"R22: {len(samples)} samples, RSS {rss0 / 2**20:.1f} -> max {max_rss / 2**20:.1f} MiB "
        f"({(max_rss / rss0 - 1) * 100:+.1f} %), fds {min(fds)}..{max(fds)} (start {fds0}), "
        f"most zombies at once {zombies}"
    )
    assert max_rss < rss0 * 1.2
    assert all(abs(f - fds0) <= 10 for f in fds)
    assert zombies <= BATCH
