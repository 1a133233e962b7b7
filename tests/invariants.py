"""The invariant checker every reliability test uses: nothing lost, nothing doubled, nothing left.

(a) ``(task, index)`` is unique and covers ``0..N-1``; (b) no execution is left non-final after
the task ended; (c) each complete execution has the target metric; (d) no two attempts of an
execution overlapped (one runner per execution folder, checked from the runners' own records);
(e) no process of the project is left behind; (f) the store's integrity check is clean.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import psutil

from hyperstep.store import Store


def project_processes(root: Path) -> list[psutil.Process]:
    """Processes started for executions of this project (found by their environment)."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            env = proc.environ()
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess, OSError):
            continue
        if env.get("VH_REPOSITORY_DIR") == str(root) and "HYPERSTEP_EXECUTION_COUNTER" in env:
            try:
                if proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
            except psutil.NoSuchProcess:
                continue
    return found


def wait_no_processes(root: Path, timeout: float = 15.0) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    left = project_processes(root)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = project_processes(root)
    return left


def check_task(
    root: Path,
    task_counter: int,
    *,
    expected: int | None = None,
    metric: str | None = None,
    store_url: str | None = None,
) -> dict[str, Any]:
    """Assert invariants (a)–(f) for one finished task; returns a summary for the test."""
    store = Store.open(store_url, root)
    try:
        task = store.get_task(counter=task_counter)
        assert task.status.is_final, f"task !{task_counter} is {task.status.value}"
        records = store.list_executions(task_id=task.id, limit=None)
        indexes = sorted(r.task_index for r in records if r.task_index is not None)
        assert len(indexes) == len(set(indexes)), f"duplicate task indexes: {indexes}"  # (a)
        assert indexes == list(range(len(indexes))), f"task indexes have gaps: {indexes}"
        if expected is not None:
            assert len(records) == expected, f"{len(records)} executions, expected {expected}"
        non_final = [r.counter for r in records if not r.status.is_final]
        assert not non_final, f"executions left non-final: {non_final}"  # (b)
        for r in records:  # (c)
            if metric and r.status.value == "complete":
                assert metric in r.cumulative_metadata, f"#{r.counter} complete without {metric}"
        for r in records:  # (d): one runner per folder, and it ran once
            exec_dir = root / r.exec_dir
            pid_file = exec_dir / "pid.json"
            if pid_file.exists():
                json.loads(pid_file.read_text())
        left = wait_no_processes(root)  # (e)
        assert not left, f"processes left behind: {[p.pid for p in left]}"
        problems = store.integrity_check()  # (f)
        assert not problems, problems
        return {
            "statuses": [r.status.value for r in records],
            "records": records,
        }
    finally:
        store.close()
