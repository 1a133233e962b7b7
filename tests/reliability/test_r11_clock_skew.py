"""R11 (slow tier): leases are measured with the database's clock, so skewed hosts agree.

A lease holder runs with its clock 10 minutes ahead (faketime), a would-be taker with its
clock 10 minutes behind, both on one PostgreSQL store. For 60 seconds the taker never takes the
live lease (no false "stale"); once the holder is SIGKILLed, the taker takes it over after the
lease's expiry by the database clock, never before. With SQLite there is one host, hence one
clock, for every process; the skew this test simulates cannot happen there.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.helpers import PYTHON, clean_env

from hyperstep.model import TaskType
from hyperstep.store import Store

WORKER = Path(__file__).resolve().with_name("lease_worker.py")
TTL = 2.0


def _skewed(offset: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["faketime", "-f", offset, PYTHON, str(WORKER), *args],
        env=clean_env({"FAKETIME_DONT_FAKE_MONOTONIC": "1"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # faketime runs the worker as its child: kill the group
    )


@pytest.mark.slow
@pytest.mark.postgres
def test_skewed_clocks_never_steal_a_live_lease(pg_url: str, tmp_path: Path) -> None:
    if shutil.which("faketime") is None:
        pytest.skip("faketime is not installed (apt-get install faketime)")
    store = Store.open(pg_url, tmp_path)
    try:
        task = store.create_task(name="skew", step="s", type=TaskType.GRID_SEARCH, spec={}, seed=1)
        common = [pg_url, str(tmp_path), task.id]
        holder = _skewed("+10m", "hold", *common, "600", str(TTL))
        assert holder.stdout is not None
        assert json.loads(holder.stdout.readline())["started"]
        taker = _skewed("-10m", "take", *common, "60", str(TTL))
        out, err = taker.communicate(timeout=180)
        assert taker.returncode == 0, err
        result = json.loads(out.strip().splitlines()[-1])
        assert abs(result["wall"] - time.time()) > 500  # the taker's clock really was skewed
        assert result["taken"] == []  # 60 s, 0 false stale detections
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        owner, expires = store.lease_info(task.id) or ("", 0.0)
        assert owner.startswith("hold-")
        taker = _skewed("-10m", "take", *common, "60", str(TTL))
        out, err = taker.communicate(timeout=180)
        assert taker.returncode == 0, err
        taken = json.loads(out.strip().splitlines()[-1])["taken"]
        assert len(taken) == 1 and taken[0] >= expires  # after expiry, by the database clock
        print(
            f"R11: the dead holder's lease was taken over {taken[0] - expires:.2f} s after expiry"
        )
    finally:
        store.close()
