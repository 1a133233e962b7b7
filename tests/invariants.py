"""The invariant checker every reliability test uses: nothing lost, nothing doubled, nothing left.

(a) ``(task, index)`` is unique and covers ``0..N-1``; (b) no execution is left non-final after
the task ended; (c) each complete execution has the target metric; (d) no two attempts of one
logical execution overlapped in time, read from the runners' own records (``pid.json`` start,
``exit.json`` end, or for a lost runner its last heartbeat or log write), and every result the
store holds agrees with the runner's ``exit.json``; (e) no process of the project is left
behind (a psutil scan for the execution environment); (f) the store's integrity check is clean.

With ``runs_file`` (the probe's ``PROBE_RUNS`` log, see ``tests/reliability/probe.py``) it also
counts how many times each execution's program really started (at most once per recorded
attempt): the proof that a result which finished while no engine watched was read from its exit
file, not run again.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from hyperstep.store import ExecutionRecord, Store


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


def kill_project_processes(root: Path) -> None:
    """Teardown: SIGKILL whatever a failed test left running for this project (by pid)."""
    for proc in project_processes(root):
        try:
            proc.kill()
        except psutil.Error:
            continue


def read_runs(runs_file: Path) -> list[dict[str, Any]]:
    """The probe's start/end records, in the order they were written."""
    if not runs_file.exists():
        return []
    return [json.loads(line) for line in runs_file.read_text().splitlines() if line.strip()]


def starts_per_counter(runs_file: Path) -> Counter[int]:
    return Counter(int(r["counter"]) for r in read_runs(runs_file) if r["event"] == "start")


@dataclass
class Attempt:
    """One runner's life, from its own files."""

    folder: Path
    start: float
    end: float  # a lost runner (no exit.json): its last trace on disk
    exit: dict[str, Any] | None


@dataclass
class Summary:
    statuses: list[str]
    records: list[ExecutionRecord]
    attempts: dict[int, list[Attempt]] = field(default_factory=dict)
    starts: Counter[int] = field(default_factory=Counter)

    def __getitem__(self, key: str) -> Any:  # the dict-style access older tests use
        return getattr(self, key)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _last_trace(folder: Path) -> float:
    """When a runner that left no ``exit.json`` (a lost one) last showed any sign of life.

    Its heartbeat and its program's log writes are all that remain on disk; a later attempt
    starting before that moment would prove two attempts ran at once.
    """
    names = ("heartbeat", "stdout.log", "stderr.log", "pid.json")
    times = [(folder / n).stat().st_mtime for n in names if (folder / n).exists()]
    return max(times, default=math.inf)


def runner_attempts(root: Path, record: ExecutionRecord) -> list[Attempt]:
    """Every runner record of the execution, oldest first (retries use ``attempt-N/``)."""
    folder = Path(record.exec_dir)
    folder = folder if folder.is_absolute() else root / folder
    if re.fullmatch(r"attempt-\d+", folder.name):
        folder = folder.parent
    found = []
    for pid_file in sorted(folder.rglob("pid.json")) if folder.exists() else []:
        started = json.loads(pid_file.read_text())
        exit_file = pid_file.with_name("exit.json")
        result = json.loads(exit_file.read_text()) if exit_file.exists() else None
        end = _epoch(result["end_time"]) if result else _last_trace(pid_file.parent)
        found.append(Attempt(pid_file.parent, _epoch(started["start_time"]), end, result))
    return sorted(found, key=lambda a: a.start)


def check_no_overlap(root: Path, records: list[ExecutionRecord]) -> dict[int, list[Attempt]]:
    """(d): attempts of one logical execution never overlap; stored results match exit.json."""
    by_logical: dict[Any, list[Attempt]] = defaultdict(list)
    attempts: dict[int, list[Attempt]] = {}
    for r in records:
        mine = runner_attempts(root, r)
        attempts[r.counter] = mine
        key = (r.task_id, r.task_index) if r.task_index is not None else r.id
        by_logical[key].extend(mine)
        finished = [a for a in mine if a.exit is not None]
        if r.status.value in ("complete", "error") and r.exit_code is not None:
            assert finished, f"#{r.counter} is {r.status.value} but no runner left exit.json"
            last = finished[-1].exit
            assert last is not None and last["exit_code"] == r.exit_code, (
                f"#{r.counter}: stored exit code {r.exit_code}, exit.json says {last}"
            )
        if r.status.value == "complete":
            assert finished and finished[-1].exit and finished[-1].exit["exit_code"] == 0, (
                f"#{r.counter} is complete without a runner result of 0"
            )
    for key, items in by_logical.items():
        items.sort(key=lambda a: a.start)
        for before, after in itertools.pairwise(items):
            assert before.end <= after.start, (
                f"attempts of execution {key} overlap: {before.folder} ran until "
                f"{before.end}, {after.folder} started at {after.start}"
            )
    return attempts


def check_task(
    root: Path,
    task_counter: int,
    *,
    expected: int | None = None,
    metric: str | None = None,
    store_url: str | None = None,
    runs_file: Path | None = None,
    metric_optional: bool = False,
    runner_files: bool = True,
) -> Summary:
    """Assert invariants (a)–(f) for one finished task; returns a summary for the test.

    ``metric_optional`` relaxes (c) for tests whose programs exit 0 without the metric on
    purpose. With ``runs_file``, no execution's program started more often than its attempts.
    ``runner_files=False`` skips (d) for stores whose execution folders are not on this disk
    (a database copied from elsewhere).
    """
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
            if metric and r.status.value == "complete" and not metric_optional:
                assert metric in r.cumulative_metadata, f"#{r.counter} complete without {metric}"
        attempts = check_no_overlap(root, records) if runner_files else {}  # (d)
        left = wait_no_processes(root)  # (e)
        assert not left, f"processes left behind: {[(p.pid, p.cmdline()) for p in left]}"
        problems = store.integrity_check()  # (f)
        assert not problems, problems
        starts: Counter[int] = Counter()
        if runs_file is not None:
            starts = starts_per_counter(runs_file)
            attempts_of = {r.counter: r.attempt for r in records}
            twice = {c: n for c, n in starts.items() if c in attempts_of and n > attempts_of[c]}
            assert not twice, f"executions whose program ran more than once an attempt: {twice}"
            for r in records:
                if r.status.value == "complete":
                    assert starts[r.counter] == 1, f"#{r.counter} complete but never started"
        return Summary(
            statuses=[r.status.value for r in records],
            records=records,
            attempts=attempts,
            starts=starts,
        )
    finally:
        store.close()
