"""R13: SQLite under contention; R14: SIGKILL in the middle of write bursts.

R13. Four processes share one SQLite store for 10 s (60 s in the slow tier): an engine writing
about 20 transactions a second, the API writing stop requests on what the engine runs, a CLI
polling, and a dashboard reading about 50 times a second. No process may see an error
(``database is locked`` above all), the ``-wal`` file stays small and the database is sound.
Write latencies are printed for the record, never asserted (speed belongs in benchmarks/).
The regression test for the ``BEGIN IMMEDIATE`` rule (a deferred transaction that upgrades to a
write fails at once, an immediate one waits) is ``tests/store/test_store_sqlite.py``.

R14 (slow tier). A hundred times: two writers start writing as fast as they can, and are
SIGKILLed after a random 0–200 ms.
After each kill the integrity check is clean and every execution row is all-or-nothing: its
status agrees with the fields written in the same transition, and its stored output counts
agree with the rows (the integrity check's sequence rules).
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from pathlib import Path

import pytest
from tests.helpers import PYTHON, clean_env

from hyperstep.model import TaskType
from hyperstep.store import Store

LOAD = Path(__file__).resolve().with_name("store_load.py")


def _store_with_task(root: Path) -> Store:
    store = Store.open(None, root)
    store.create_task(name="load", step="s", type=TaskType.GRID_SEARCH, spec={}, seed=None)
    return store


def contention(root: Path, seconds: float) -> dict[str, dict]:
    store = _store_with_task(root)
    url = store.url
    try:
        procs = {
            role: subprocess.Popen(
                [PYTHON, str(LOAD), role, url, str(root), str(seconds)],
                env=clean_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for role in ("engine", "api", "cli", "dashboard")
        }
        results = {}
        for role, proc in procs.items():
            out, err = proc.communicate(timeout=seconds + 120)
            assert proc.returncode == 0, (role, err)
            results[role] = json.loads(out.strip().splitlines()[-1])
        wal = root / ".hyperstep" / "hyperstep.db-wal"
        wal_size = wal.stat().st_size if wal.exists() else 0
        assert store.integrity_check() == []
        executions = store.count_executions()
    finally:
        store.close()
    print(
        f"R13 {seconds:g}s: executions {executions}, wal {wal_size / 2**20:.2f} MiB, "
        + ", ".join(
            f"{r}: {v['ops']} ops p99 {v['p99'] * 1000:.0f} ms max {v['max'] * 1000:.0f} ms"
            for r, v in results.items()
        )
    )
    for role, result in results.items():
        assert result["n_errors"] == 0, (role, result["errors"])
    assert wal_size < 64 * 2**20
    assert executions >= seconds * 2  # the engine really wrote all along
    return results


def test_sqlite_contention_10s(tmp_path: Path) -> None:
    contention(tmp_path, 10.0)


@pytest.mark.slow
def test_sqlite_contention_60s(tmp_path: Path) -> None:
    contention(tmp_path, 60.0)


@pytest.mark.slow
def test_sigkill_during_write_bursts_leaves_a_sound_database(tmp_path: Path) -> None:
    rng = random.Random(14)
    store = _store_with_task(tmp_path)
    url = store.url
    try:
        for round_ in range(100):
            writers = [
                subprocess.Popen(
                    [PYTHON, str(LOAD), "burst", url, str(tmp_path), "30"],
                    env=clean_env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
                for _ in range(2)
            ]
            for writer in writers:  # both past start-up and writing as fast as they can
                assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
            time.sleep(rng.uniform(0.0, 0.2))
            for writer in writers:
                writer.kill()
                writer.wait()
            assert store.integrity_check() == [], f"round {round_}"
            for record in store.list_executions(limit=None):
                if record.status.value == "complete":
                    assert record.exit_code == 0 and record.end_time is not None, record
                if record.status.value == "started":
                    assert record.pid == 1 and record.start_time is not None, record
        print(f"R14: 100/100 rounds sound, {store.count_executions()} executions written")
    finally:
        store.close()
