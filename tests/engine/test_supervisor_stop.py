"""A stop that arrives while the runner is still starting is never lost."""

from __future__ import annotations

import time
from pathlib import Path

from hyperstep.model import ExecutionStatus
from hyperstep.service import context, create_execution

PROJECT = """
- step:
    name: slow
    image: python:3.11
    command: {python} {programs}/metrics.py --epochs 20 --sleep 0.5
"""


def test_stop_right_after_launch_stops_the_execution(make_project) -> None:
    root: Path = make_project(PROJECT)
    with context(root) as ctx:
        for _ in range(3):
            record = create_execution(ctx, "slow", {})
            sup = ctx.supervisor(stop_grace=2.0)
            live = sup.launch(record)
            assert live is not None
            sup.request_stop(live)  # before the runner's interpreter has even started
            deadline = time.monotonic() + 30
            while sup.live and time.monotonic() < deadline:
                sup.poll()
                sup.wait(0.05)
            final = ctx.store.get_execution(id=record.id)
            assert final.status is ExecutionStatus.STOPPED, final.status_detail
            # The command was stopped long before its 20 epochs: at most a few lines ran.
            assert final.n_log_lines < 5
