"""R16: four processes persist and claim the same 1,000 executions; each is claimed once.

The store contract suite already runs on PostgreSQL (``tests/store``); this is the race the
catalogue adds: four processes persist the same 1,000 proposals concurrently (idempotent on
``(task, index)``: every process gets the same row for an index) and then claim them with the
``created -> queued`` compare-and-set. Every row is claimed exactly once, no process sees an
error (deadlocks and serialization failures are retried inside the store), and the store is
sound afterwards. Run on PostgreSQL and, for comparison, on SQLite (300 rows).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.helpers import PYTHON, clean_env

from hyperstep.model import ExecutionStatus as S
from hyperstep.model import TaskType
from hyperstep.store import Store

WORKER = Path(__file__).resolve().with_name("claim_worker.py")
COUNT = 1000
WORKERS = 4


def race(url: str | None, root: Path, count: int = COUNT) -> None:
    store = Store.open(url, root)
    try:
        task = store.create_task(name="race", step="s", type=TaskType.GRID_SEARCH, spec={}, seed=1)
        full_url = url or f"sqlite:///{root / '.hyperstep' / 'hyperstep.db'}"
        procs = [
            subprocess.Popen(
                [PYTHON, str(WORKER), full_url, str(root), task.id, str(count), str(seed)],
                env=clean_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for seed in range(WORKERS)
        ]
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        for result in results:
            assert result["errors"] == []
        # Idempotent persistence: every process got the same row for every index.
        assert all(r["seen"] == results[0]["seen"] for r in results)
        assert len(results[0]["seen"]) == count
        claims = [c for r in results for c in r["claimed"]]
        assert len(claims) == count and len(set(claims)) == count  # each claimed exactly once
        assert store.count_executions(task_id=task.id) == count
        assert store.count_executions(task_id=task.id, status=S.QUEUED) == count
        assert store.integrity_check() == []
        print(f"R16 {store.dialect}: {count} rows, claims per process "
              f"{[len(r['claimed']) for r in results]}")  # fmt: skip
    finally:
        store.close()


@pytest.mark.postgres
def test_four_processes_claim_each_row_once_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    race(pg_url, tmp_path)


def test_four_processes_claim_each_row_once_on_sqlite(tmp_path: Path) -> None:
    race(None, tmp_path, count=300)  # one writer at a time: the same proof, fewer rows
