"""One process of the SQLite contention scenario (R13): an engine, the API, the CLI or a dashboard.

    python store_load.py ROLE STORE_URL PROJECT_DIR SECONDS

Roles: ``engine`` (an execution's life at about 20 write transactions a second: create, queue,
start, output, complete), ``burst`` (the same as fast as it can, after printing ``ready``: the
process R14 SIGKILLs mid-write), ``api`` (stop requests: compare-and-set to ``stopping`` on what the
engine runs), ``cli`` (polls the listing and logs ten times a second), ``dashboard`` (about 50
reads a second). Every store error is caught and counted, never raised, so the test can say how
many a user would have seen. Prints one JSON line: ops, errors, write latencies (p50, p99, max).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from hyperstep.model import ExecutionStatus as S
from hyperstep.store import Store

TEMPLATE = ".hyperstep/executions/{counter}"


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Load:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.ops = 0
        self.errors: list[str] = []
        self.latencies: list[float] = []

    def write(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return None
        finally:
            self.latencies.append(time.perf_counter() - started)
            self.ops += 1

    def read(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return None
        finally:
            self.ops += 1


def engine(load: Load, task_id: str, until: float, pause: float = 0.2, first: int = 0) -> None:
    store = load.store
    index = first
    while time.monotonic() < until:
        records = load.write(
            store.create_task_executions, task_id, [(index, {"i": index}, "true")], TEMPLATE
        )
        if not records:
            continue
        eid = records[0].id
        load.write(store.transition, eid, [S.CREATED], S.QUEUED)
        load.write(store.transition, eid, [S.QUEUED], S.STARTED, pid=1, host="h")
        now = time.time()
        load.write(
            store.append_output,
            eid,
            logs=[("stdout", now, f"line {index}"), ("stdout", now, '{"loss": 0.5}')],
            events=[(now, {"loss": 0.5})],
            stdout_offset=100,
            stderr_offset=0,
        )
        load.write(store.transition, eid, [S.STARTED, S.STOPPING], S.COMPLETE, exit_code=0)
        index += 1
        time.sleep(pause)  # five writes per execution: about 20 write transactions a second


def burst(load: Load, task_id: str, until: float) -> None:
    print("ready", flush=True)
    # Indexes of this process only, so two bursting writers never collide on (task, index).
    engine(load, task_id, until, pause=0.0, first=os.getpid() * 100_000)


def api(load: Load, task_id: str, until: float) -> None:
    while time.monotonic() < until:
        running = load.read(load.store.list_executions, task_id=task_id, status=S.STARTED)
        for record in running or []:
            load.write(load.store.transition, record.id, [S.STARTED], S.STOPPING)
        time.sleep(0.3)


def cli(load: Load, task_id: str, until: float) -> None:
    while time.monotonic() < until:
        records = load.read(load.store.list_executions, task_id=task_id, limit=50, order="-counter")
        for record in (records or [])[:3]:
            load.read(load.store.get_logs, record.id)
        time.sleep(0.1)


def dashboard(load: Load, task_id: str, until: float) -> None:
    while time.monotonic() < until:
        load.read(load.store.task_status_summary, task_id)
        records = load.read(load.store.list_executions, task_id=task_id, limit=20, order="-counter")
        if records:
            load.read(load.store.get_events, records[0].id)
        time.sleep(0.05)


ROLES = {"engine": engine, "burst": burst, "api": api, "cli": cli, "dashboard": dashboard}


def main(role: str, url: str, root: str, seconds: float) -> int:
    store = Store.open(url, Path(root))
    try:
        task = store.list_tasks(limit=1)[0]
        load = Load(store)
        ROLES[role](load, task.id, time.monotonic() + seconds)
    finally:
        store.close()
    print(
        json.dumps(
            {
                "role": role,
                "ops": load.ops,
                "errors": load.errors[:20],
                "n_errors": len(load.errors),
                "p50": _percentile(load.latencies, 0.5),
                "p99": _percentile(load.latencies, 0.99),
                "max": max(load.latencies, default=0.0),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
