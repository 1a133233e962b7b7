"""A lost execution (its runner vanished, e.g. with its Dask worker) is retried in a new attempt.

Real runners of the local executor, a real SQLite store: the runner shim is SIGKILLed with its
process group, which is what a dead worker looks like to the engine (``lost``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tests.helpers import PROGRAMS

from hyperstep.engine.supervisor import Finished, Live, Supervisor
from hyperstep.executors.local import LocalExecutor
from hyperstep.model import ExecutionStatus as S
from hyperstep.store import ExecutionRecord, Store

HANG = f"exec {sys.executable} {PROGRAMS / 'hang.py'}"
#: hangs in its first attempt, prints "second" and ends in any later one
SECOND_COMPLETES = f'case "$VH_CONFIG_DIR" in *attempt-*) echo second;; *) {HANG};; esac'


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(None, tmp_path) as opened:
        yield opened


def supervisor(store: Store, root: Path, retries: int | None = None) -> Supervisor:
    return Supervisor(store, root, LocalExecutor(grace=2.0), stop_grace=10.0, retries=retries)


def create(store: Store, command: str) -> ExecutionRecord:
    return store.create_execution(
        step="s",
        parameters={},
        command=command,
        exec_dir_template=".hyperstep/executions/{counter}",
    )


def kill_runner(root: Path, record: ExecutionRecord) -> None:
    """SIGKILL the runner shim and its command: the run vanishes without a result."""
    pid_file = root / record.exec_dir / "pid.json"
    deadline = time.monotonic() + 30
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    info = json.loads(pid_file.read_text())
    shim = psutil.Process(info["shim_pid"])
    os.kill(info["shim_pid"], signal.SIGKILL)
    os.killpg(info["pgid"], signal.SIGKILL)
    while shim.is_running() and shim.status() != psutil.STATUS_ZOMBIE:  # its lock is gone
        assert time.monotonic() < deadline
        time.sleep(0.01)


def run_until(sup: Supervisor, done: object, timeout: float = 30.0) -> list[Finished]:
    finished: list[Finished] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        finished += sup.poll()
        if callable(done) and done(finished):
            return finished
        time.sleep(0.02)
    pytest.fail("the supervisor did not get there in time")


def current(store: Store, record: ExecutionRecord) -> ExecutionRecord:
    return store.get_execution(id=record.id)


def test_a_lost_run_is_retried_in_a_fresh_attempt_folder(store: Store, tmp_path: Path) -> None:
    sup = supervisor(store, tmp_path, retries=1)
    record = create(store, SECOND_COMPLETES)
    first = sup.launch(record)
    assert first is not None
    kill_runner(tmp_path, record)
    finished = run_until(sup, lambda f: f)
    assert [f.status for f in finished] == [S.COMPLETE]
    final = current(store, record)
    assert final.status is S.COMPLETE and final.attempt == 2
    assert final.exec_dir == ".hyperstep/executions/1/attempt-2"
    assert "attempt 1 crashed" in (final.status_detail or "")
    logs = [(line.stream, line.message) for line in store.get_logs(record.id)]
    # attempt 1's output (if it printed before it was lost), the crash, attempt 2's output
    status = [i for i, (stream, _) in enumerate(logs) if stream == "status"]
    assert len(status) == 1 and logs[status[0]][1].startswith("attempt 1 crashed: ")
    assert all(message.startswith("ready ") for _, message in logs[: status[0]])
    assert logs[status[0] + 1 :] == [("stdout", "second")]
    assert final.runner_ref is not None
    assert final.runner_ref["exec_dir"].endswith("attempt-2")
    # the first attempt's folder is left as it was (its runner's record), never reused
    assert (tmp_path / ".hyperstep/executions/1/pid.json").exists()
    assert not (tmp_path / ".hyperstep/executions/1/exit.json").exists()


def test_when_retries_are_exhausted_the_execution_is_crashed(store: Store, tmp_path: Path) -> None:
    sup = supervisor(store, tmp_path, retries=1)
    record = create(store, HANG)
    sup.launch(record)
    kill_runner(tmp_path, record)
    run_until(sup, lambda _f: current(store, record).attempt == 2)
    kill_runner(tmp_path, current(store, record))
    finished = run_until(sup, lambda f: f)
    assert [f.status for f in finished] == [S.CRASHED]
    final = current(store, record)
    assert final.status is S.CRASHED and final.attempt == 2
    assert final.status_detail == "the runner process vanished without an exit status"
    assert not sup.live


def test_without_retries_a_lost_run_crashes_at_once(store: Store, tmp_path: Path) -> None:
    sup = supervisor(store, tmp_path)  # the local executor asks for no retries
    assert sup.retries == 0
    record = create(store, HANG)
    sup.launch(record)
    kill_runner(tmp_path, record)
    finished = run_until(sup, lambda f: f)
    assert [f.status for f in finished] == [S.CRASHED]
    assert current(store, record).attempt == 1


def test_a_run_being_stopped_is_never_retried(store: Store, tmp_path: Path) -> None:
    sup = supervisor(store, tmp_path, retries=3)
    record = create(store, f"exec {sys.executable} {PROGRAMS / 'ignore_sigterm.py'}")
    live = sup.launch(record)
    assert isinstance(live, Live)
    stdout = tmp_path / record.exec_dir / "stdout.log"
    deadline = time.monotonic() + 30
    while not (stdout.exists() and stdout.read_bytes()):  # its SIGTERM trap is installed
        assert time.monotonic() < deadline
        time.sleep(0.02)
    sup.request_stop(live)
    assert current(store, record).status is S.STOPPING
    kill_runner(tmp_path, record)
    finished = run_until(sup, lambda f: f)
    # Asked to stop, and gone: recorded as stopped (what was asked), and never run again.
    assert [f.status for f in finished] == [S.STOPPED]
    assert current(store, record).attempt == 1
    assert "runner" in (current(store, record).status_detail or "")


def test_a_restarted_engine_retries_a_run_lost_while_it_was_down(
    store: Store, tmp_path: Path
) -> None:
    record = create(store, SECOND_COMPLETES)
    supervisor(store, tmp_path, retries=1).launch(record)
    kill_runner(tmp_path, record)  # ... while no engine watches it
    successor = supervisor(store, tmp_path, retries=1)
    adopted = successor.adopt(current(store, record))
    assert isinstance(adopted, Live) and adopted.record.attempt == 2
    finished = run_until(successor, lambda f: f)
    assert [f.status for f in finished] == [S.COMPLETE]
    assert current(store, record).attempt == 2


def test_started_may_go_back_to_queued_but_stopping_may_not(store: Store) -> None:
    record = create(store, "true")
    store.transition(record.id, [S.CREATED], S.QUEUED)
    store.transition(record.id, [S.QUEUED], S.STARTED)
    assert store.transition(record.id, [S.STARTED], S.QUEUED, attempt=2)
    store.transition(record.id, [S.QUEUED], S.STARTED)
    store.transition(record.id, [S.STARTED], S.STOPPING)
    with pytest.raises(ValueError, match="stopping -> queued"):
        store.transition(record.id, [S.STOPPING], S.QUEUED)
