"""The store contract: every test runs on a SQLite file and on a fresh PostgreSQL schema."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from hyperstep.errors import ConflictError, NotFoundError
from hyperstep.model import ExecutionStatus as S
from hyperstep.model import TaskStatus, TaskType
from hyperstep.store import MAX_MESSAGE_BYTES, Store

TEMPLATE = ".hyperstep/executions/{counter}"


def _task(store: Store, step: str = "train") -> str:
    return store.create_task(
        name="sweep", step=step, type=TaskType.GRID_SEARCH, spec={"k": [1, 2]}, seed=7
    ).id


def _exec(store: Store, **kwargs: object) -> str:
    return store.create_execution(
        step="train",
        parameters={"lr": 0.1},
        command="python t.py",
        exec_dir_template=TEMPLATE,
        **kwargs,  # type: ignore[arg-type]
    ).id


# -- counters ---------------------------------------------------------------------------------


def test_counters_are_project_wide_and_separate_for_tasks_and_executions(store: Store) -> None:
    first = store.create_execution(
        step="train", parameters={}, command="c", exec_dir_template=TEMPLATE
    )
    task = store.create_task(name=None, step="train", type="random-search", spec={}, seed=None)
    batch = store.create_task_executions(
        task.id, [(0, {}, "c"), (1, {}, "c"), (2, {}, "c")], TEMPLATE
    )
    last = store.create_execution(
        step="other", parameters={}, command="c", exec_dir_template=TEMPLATE
    )
    second_task = store.create_task(
        name=None, step="train", type=TaskType.BAYESIAN_TPE, spec={}, seed=1
    )
    assert first.counter == 1
    assert [r.counter for r in batch] == [2, 3, 4]
    assert last.counter == 5
    assert (task.counter, second_task.counter) == (1, 2)
    assert task.type is TaskType.RANDOM_SEARCH
    assert [r.exec_dir for r in batch] == [TEMPLATE.format(counter=n) for n in (2, 3, 4)]
    assert all(r.task_counter == 1 and r.step == "train" for r in batch)


def test_get_by_counter_and_id_and_not_found(store: Store) -> None:
    created = store.create_execution(
        step="train",
        parameters={"lr": 1e-3, "opt": "adam", "flag": True},
        command="c",
        exec_dir_template=TEMPLATE,
    )
    assert store.get_execution(counter=created.counter) == created
    assert store.get_execution(id=created.id) == created
    with pytest.raises(NotFoundError, match="#999"):
        store.get_execution(counter=999)
    with pytest.raises(NotFoundError):
        store.get_execution(id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFoundError, match="!42"):
        store.get_task(counter=42)
    with pytest.raises(TypeError):
        store.get_execution()


def test_create_execution_checks_its_task(store: Store) -> None:
    task_id = _task(store)
    rec = store.create_execution(
        step="train",
        parameters={},
        command="c",
        exec_dir_template=TEMPLATE,
        task_id=task_id,
        task_index=0,
    )
    assert (rec.task_id, rec.task_index, rec.task_counter) == (task_id, 0, 1)
    with pytest.raises(ConflictError, match="index 0"):
        _exec(store, task_id=task_id, task_index=0)
    with pytest.raises(NotFoundError):
        _exec(store, task_id="no-such-task", task_index=0)
    assert store.count_executions() == 1


# -- idempotent batches -----------------------------------------------------------------------


def test_create_task_executions_is_idempotent(store: Store) -> None:
    task_id = _task(store)
    first = store.create_task_executions(
        task_id, [(0, {"x": 0}, "c0"), (1, {"x": 1}, "c1")], TEMPLATE
    )
    # The same proposals again, one with other parameters, plus a new index.
    again = store.create_task_executions(
        task_id, [(1, {"x": 99}, "other"), (0, {"x": 0}, "c0"), (2, {"x": 2}, "c2")], TEMPLATE
    )
    assert again[0] == first[1]  # returned unchanged, not updated
    assert again[1] == first[0]
    assert again[2].task_index == 2 and again[2].counter == 3
    assert store.count_executions(task_id=task_id) == 3
    assert store.create_task_executions(task_id, [], TEMPLATE) == []
    with pytest.raises(ValueError, match="duplicate"):
        store.create_task_executions(task_id, [(5, {}, "c"), (5, {}, "c")], TEMPLATE)
    with pytest.raises(NotFoundError):
        store.create_task_executions("missing", [(0, {}, "c")], TEMPLATE)
    assert store.integrity_check() == []


def test_batch_is_atomic(store: Store) -> None:
    task_id = _task(store)
    with pytest.raises(TypeError):  # the second proposal cannot be stored: nothing is
        store.create_task_executions(
            task_id, [(0, {"ok": 1}, "c"), (1, {"bad": object()}, "c")], TEMPLATE
        )
    assert store.count_executions() == 0
    assert store.create_task_executions(task_id, [(0, {}, "c")], TEMPLATE)[0].counter == 1


def test_concurrent_batches_never_duplicate(store_url: str, tmp_path: Path) -> None:
    stores = [Store.open(store_url, tmp_path) for _ in range(2)]
    try:
        task_id = _task(stores[0])
        items = [(i, {"i": i}, f"c{i}") for i in range(50)]
        results: list[list[int]] = []
        barrier = threading.Barrier(2)

        def persist(s: Store) -> None:
            barrier.wait()
            results.append([r.counter for r in s.create_task_executions(task_id, items, TEMPLATE)])

        threads = [threading.Thread(target=persist, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 2 and results[0] == results[1]
        assert stores[0].count_executions(task_id=task_id) == 50
        assert stores[0].integrity_check() == []
    finally:
        for s in stores:
            s.close()


# -- compare-and-set --------------------------------------------------------------------------


def test_transition_is_compare_and_set(store: Store) -> None:
    eid = _exec(store)
    assert store.transition(eid, [S.CREATED], S.QUEUED)
    assert not store.transition(eid, [S.CREATED], S.QUEUED)  # no longer created
    assert store.transition(eid, S.QUEUED, S.STARTED, pid=123, host="h1")  # one status is fine
    rec = store.get_execution(id=eid)
    assert (rec.status, rec.pid, rec.host) == (S.STARTED, 123, "h1")
    assert rec.queue_time is not None and rec.start_time is not None and rec.end_time is None
    assert store.transition(eid, [S.STARTED, S.STOPPING], S.COMPLETE, exit_code=0)
    rec = store.get_execution(id=eid)
    assert rec.status is S.COMPLETE and rec.exit_code == 0 and rec.end_time is not None
    assert rec.is_final and rec.duration is not None and rec.duration >= 0


def test_transition_refuses_illegal_pairs(store: Store) -> None:
    eid = _exec(store)
    with pytest.raises(ValueError, match="created -> started"):
        store.transition(eid, [S.CREATED], S.STARTED)
    with pytest.raises(ValueError, match="complete -> error"):
        store.transition(eid, [S.STARTED, S.COMPLETE], S.ERROR)
    with pytest.raises(NotFoundError):
        store.transition("nope", [S.CREATED], S.QUEUED)
    with pytest.raises(TypeError, match="status"):
        store.transition(eid, [S.CREATED], S.QUEUED, status="complete")
    assert store.get_execution(id=eid).status is S.CREATED


def test_transition_keeps_given_and_existing_times(store: Store) -> None:
    eid = _exec(store)
    store.transition(eid, [S.CREATED], S.QUEUED, queue_time=100.0)
    store.update_execution(eid, start_time=150.0)
    store.transition(eid, [S.QUEUED], S.STARTED)
    store.transition(eid, [S.STARTED], S.ERROR, end_time=200.0, exit_code=3, status_detail="x")
    rec = store.get_execution(id=eid)
    assert (rec.queue_time, rec.start_time, rec.end_time) == (100.0, 150.0, 200.0)
    assert (rec.exit_code, rec.status_detail, rec.duration) == (3, "x", 50.0)


def test_concurrent_cas_exactly_one_wins(store_url: str, tmp_path: Path) -> None:
    stores = [Store.open(store_url, tmp_path) for _ in range(2)]
    try:
        ids = [_exec(stores[0]) for _ in range(20)]
        wins: list[list[bool]] = [[], []]
        barrier = threading.Barrier(2)

        def race(k: int) -> None:
            for eid in ids:
                barrier.wait()
                wins[k].append(stores[k].transition(eid, [S.CREATED], S.QUEUED))

        threads = [threading.Thread(target=race, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [a + b for a, b in zip(wins[0], wins[1])] == [1] * 20
        assert stores[1].count_executions(status=S.QUEUED) == 20
    finally:
        for s in stores:
            s.close()


def test_update_execution(store: Store) -> None:
    eid = _exec(store)
    store.update_execution(eid, runner_ref={"kind": "local", "dir": "/x"}, attempt=2, pid=9)
    rec = store.get_execution(id=eid)
    assert (rec.runner_ref, rec.attempt, rec.pid) == ({"kind": "local", "dir": "/x"}, 2, 9)
    with pytest.raises(TypeError, match="status"):
        store.update_execution(eid, status="complete")
    with pytest.raises(TypeError, match="bogus"):
        store.update_execution(eid, bogus=1)
    with pytest.raises(NotFoundError):
        store.update_execution("nope", pid=1)
    store.update_execution(eid)  # nothing to do is fine


# -- output -----------------------------------------------------------------------------------


def test_append_output_numbers_lines_and_merges_metadata(store: Store) -> None:
    eid = _exec(store)
    store.append_output(
        eid,
        logs=[("stdout", 1.0, "epoch 1"), ("stderr", 1.5, "warning")],
        events=[(1.2, {"loss": 0.9, "acc": 0.1}), (1.3, {"loss": float("nan")})],
        stdout_offset=30,
        stderr_offset=8,
    )
    store.append_output(
        eid,
        logs=[("stdout", 2.0, "epoch 2")],
        events=[(2.1, {"loss": 0.5, "lr": 1e-3})],
        stdout_offset=60,
        stderr_offset=8,
    )
    rec = store.get_execution(id=eid)
    assert (rec.stdout_offset, rec.stderr_offset, rec.n_log_lines, rec.n_events) == (60, 8, 3, 3)
    assert rec.cumulative_metadata == {"loss": 0.5, "acc": 0.1, "lr": 1e-3}
    logs = store.get_logs(eid)
    assert [(line.seq, line.stream, line.message) for line in logs] == [
        (1, "stdout", "epoch 1"),
        (2, "stderr", "warning"),
        (3, "stdout", "epoch 2"),
    ]
    assert [line.seq for line in store.get_logs(eid, after_seq=1, limit=1)] == [2]
    assert [line.message for line in store.get_logs(eid, stream="stdout")] == ["epoch 1", "epoch 2"]
    events = store.get_events(eid)
    assert [e.seq for e in events] == [1, 2, 3]
    assert math.isnan(events[1].data["loss"])  # NaN round-trips on both databases
    assert events[0].data == {"loss": 0.9, "acc": 0.1, "_time": "1970-01-01T00:00:01.200000Z"}
    assert [e.seq for e in store.get_events(eid, after_seq=2)] == [3]
    assert store.integrity_check() == []


def test_append_output_refuses_offsets_going_back(store: Store) -> None:
    eid = _exec(store)
    store.append_output(
        eid, logs=[("stdout", 1.0, "a")], events=[], stdout_offset=2, stderr_offset=0
    )
    with pytest.raises(ValueError, match="backwards"):
        store.append_output(
            eid, logs=[("stdout", 1.0, "a")], events=[], stdout_offset=0, stderr_offset=0
        )
    with pytest.raises(ValueError, match="stream"):
        store.append_output(
            eid, logs=[("stdin", 1.0, "a")], events=[], stdout_offset=2, stderr_offset=0
        )
    with pytest.raises(NotFoundError):
        store.append_output("nope", logs=[], events=[], stdout_offset=0, stderr_offset=0)
    assert store.get_execution(id=eid).n_log_lines == 1
    store.update_execution(eid, stdout_offset=0)  # an explicit reset is allowed
    assert store.get_execution(id=eid).stdout_offset == 0


def test_messages_are_made_storable(store: Store) -> None:
    eid = _exec(store)
    huge = "é" * MAX_MESSAGE_BYTES  # 128 KiB of UTF-8
    store.append_output(
        eid,
        logs=[("stdout", 1.0, "nul\x00byte"), ("stderr", 1.0, huge), ("stdout", 1.0, "bad \udcff")],
        events=[(1.0, {"text": "nul\x00 and \udcff"})],
        stdout_offset=1,
        stderr_offset=1,
    )
    nul, cut, surrogate = (line.message for line in store.get_logs(eid))
    assert nul == "nul\ufffdbyte"
    assert cut.startswith("é" * (MAX_MESSAGE_BYTES // 2 - 1)) and "stderr.log" in cut
    assert len(cut.encode()) < MAX_MESSAGE_BYTES + 200
    assert surrogate == "bad ?"
    assert store.get_events(eid)[0].data["text"] == "nul\x00 and \udcff"  # JSON escapes them


def test_large_output_in_batches(store: Store) -> None:
    eid = _exec(store)
    offset = 0
    for batch in range(10):
        lines = [("stdout", time.time(), f"{batch}:{i}") for i in range(2000)]
        offset += 2000
        store.append_output(eid, logs=lines, events=[], stdout_offset=offset, stderr_offset=0)
    logs = store.get_logs(eid)
    assert len(logs) == 20000 == store.get_execution(id=eid).n_log_lines
    assert [line.seq for line in logs] == list(range(1, 20001))
    assert logs[-1].message == "9:1999"
    assert store.integrity_check() == []


# -- listing ----------------------------------------------------------------------------------


def test_listing_filters_pages_and_orders(store: Store) -> None:
    task_id = _task(store)
    in_task = store.create_task_executions(task_id, [(i, {}, "c") for i in range(7)], TEMPLATE)
    loose = [_exec(store) for _ in range(3)]
    for rec in in_task[:3]:
        store.transition(rec.id, [S.CREATED], S.QUEUED)
    store.transition(loose[0], [S.CREATED], S.STOPPED)

    assert [r.counter for r in store.list_executions()] == list(range(1, 11))
    assert [r.counter for r in store.list_executions(order="-counter", limit=3)] == [10, 9, 8]
    assert store.count_executions(task_id=task_id) == 7
    assert store.count_executions(status=S.QUEUED) == 3
    assert store.count_executions(status=[S.QUEUED, S.STOPPED]) == 4
    assert store.count_executions(task_id=task_id, status="created") == 4
    queued = store.list_executions(task_id=task_id, status=S.QUEUED)
    assert [r.counter for r in queued] == [1, 2, 3]
    pages = [store.list_executions(limit=4, offset=o) for o in (0, 4, 8)]
    assert [r.counter for page in pages for r in page] == list(range(1, 11))
    assert store.list_executions(limit=None, offset=9)[0].counter == 10
    with pytest.raises(ValueError):
        store.list_executions(order="ctime")  # type: ignore[arg-type]


# -- tasks ------------------------------------------------------------------------------------


def test_tasks_lifecycle_and_summary(store: Store) -> None:
    task = store.create_task(
        name="bp", step="train", type="Grid-Search", spec={"parameters": {"x": 1.5}}, seed=2**40
    )
    assert store.get_task(counter=task.counter) == task == store.get_task(id=task.id)
    assert task.status is TaskStatus.CREATED and task.seed == 2**40
    assert store.transition_task(task.id, [TaskStatus.CREATED], TaskStatus.STARTED)
    assert not store.transition_task(task.id, TaskStatus.CREATED, TaskStatus.STARTED)
    store.update_task(task.id, status_detail="running", stopped_by_execution=3)
    recs = store.create_task_executions(task.id, [(i, {}, "c") for i in range(5)], TEMPLATE)
    store.transition(recs[0].id, S.CREATED, S.QUEUED)
    store.transition(recs[0].id, S.QUEUED, S.STARTED)
    store.transition(recs[0].id, S.STARTED, S.COMPLETE)
    store.transition(recs[1].id, S.CREATED, S.QUEUED)
    store.transition(recs[2].id, S.CREATED, S.CRASHED)
    summary = store.task_status_summary(task.id)
    assert summary == {
        "count": 5,
        "created_count": 2,
        "queued_count": 1,
        "started_count": 0,
        "complete_count": 1,
        "error_count": 0,
        "crashed_count": 1,
        "stopping_count": 0,
        "stopping_hard_count": 0,
        "stopped_count": 0,
    }
    assert store.transition_task(task.id, [TaskStatus.STARTED], TaskStatus.STOPPED)
    done = store.get_task(id=task.id)
    assert done.status is TaskStatus.STOPPED and done.status_detail == "running"
    assert done.stopped_by_execution == 3
    assert done.start_time is not None and done.end_time is not None
    with pytest.raises(NotFoundError):
        store.task_status_summary("nope")
    with pytest.raises(NotFoundError):
        store.transition_task("nope", [TaskStatus.CREATED], TaskStatus.STARTED)
    with pytest.raises(TypeError):
        store.update_task(task.id, lease_owner="me")


def test_list_tasks(store: Store) -> None:
    ids = [_task(store) for _ in range(5)]
    store.transition_task(ids[1], [TaskStatus.CREATED], TaskStatus.STARTED)
    assert [t.counter for t in store.list_tasks()] == [1, 2, 3, 4, 5]
    assert [t.counter for t in store.list_tasks(order="-counter", limit=2, offset=1)] == [4, 3]
    assert [t.id for t in store.list_tasks(status=TaskStatus.STARTED)] == [ids[1]]
    assert store.count_tasks(status=["created"]) == 4


# -- leases -----------------------------------------------------------------------------------


def test_leases(store: Store) -> None:
    task_id = _task(store)
    assert store.lease_info(task_id) is None
    assert store.acquire_lease(task_id, "engine-a", 30)
    assert store.acquire_lease(task_id, "engine-a", 30)  # already ours
    assert not store.acquire_lease(task_id, "engine-b", 30)
    info = store.lease_info(task_id)
    assert info is not None and info[0] == "engine-a" and info[1] > store.now()
    assert not store.renew_lease(task_id, "engine-b", 30)
    assert store.renew_lease(task_id, "engine-a", 60)
    assert not store.release_lease(task_id, "engine-b")
    assert store.release_lease(task_id, "engine-a")
    assert store.lease_info(task_id) is None
    assert store.acquire_lease(task_id, "engine-b", 30)
    with pytest.raises(ValueError):
        store.acquire_lease(task_id, "engine-b", 0)
    with pytest.raises(NotFoundError):
        store.acquire_lease("nope", "engine-a", 1)
    with pytest.raises(NotFoundError):
        store.lease_info("nope")


def test_expired_lease_can_be_taken_over(store: Store) -> None:
    task_id = _task(store)
    assert store.acquire_lease(task_id, "engine-a", 0.2)
    deadline = time.monotonic() + 10
    while store.lease_info(task_id) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.lease_info(task_id) is None  # expired
    assert store.acquire_lease(task_id, "engine-b", 30)
    assert not store.renew_lease(task_id, "engine-a", 30)  # engine-a lost it for good
    assert store.lease_info(task_id) is not None


def test_expired_lease_nobody_took_renews(store: Store) -> None:
    task_id = _task(store)
    assert store.acquire_lease(task_id, "engine-a", 0.1)
    time.sleep(0.3)
    assert store.renew_lease(task_id, "engine-a", 30)
    assert not store.acquire_lease(task_id, "engine-b", 30)


def test_two_owners_racing_for_a_lease(store_url: str, tmp_path: Path) -> None:
    stores = [Store.open(store_url, tmp_path) for _ in range(2)]
    try:
        tasks = [_task(stores[0]) for _ in range(10)]
        won: list[list[bool]] = [[], []]
        barrier = threading.Barrier(2)

        def race(k: int) -> None:
            for task_id in tasks:
                barrier.wait()
                won[k].append(stores[k].acquire_lease(task_id, f"engine-{k}", 30))

        threads = [threading.Thread(target=race, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [a + b for a, b in zip(won[0], won[1])] == [1] * 10
    finally:
        for s in stores:
            s.close()


# -- integrity --------------------------------------------------------------------------------


def test_integrity_check_reports_broken_invariants(store: Store, store_url: str) -> None:
    eid = _exec(store)
    other = _exec(store)
    store.append_output(
        eid, logs=[("stdout", 1.0, "x")], events=[], stdout_offset=2, stderr_offset=0
    )
    assert store.integrity_check() == []
    engine = sa.create_engine(store_url, poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE executions SET status = 'complete' WHERE id = :i"), {"i": other}
            )
            conn.execute(sa.text("UPDATE executions SET n_log_lines = 5 WHERE id = :i"), {"i": eid})
            conn.execute(sa.text("UPDATE counters SET value = 0 WHERE name = 'execution'"))
    finally:
        engine.dispose()
    problems = "\n".join(store.integrity_check())
    assert "execution #2 is final but has no end_time" in problems
    assert "execution #1: n_log_lines is 5" in problems
    assert "counter 'execution' is at 0" in problems


def test_exec_dir_template_needs_the_counter(store: Store) -> None:
    with pytest.raises(ValueError, match="counter"):
        store.create_execution(step="s", parameters={}, command="c", exec_dir_template="runs/x")
    task_id = _task(store)
    with pytest.raises(ValueError, match="counter"):
        store.create_task_executions(task_id, [(0, {}, "c")], "runs/x")
