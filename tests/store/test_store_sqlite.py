"""SQLite under several writers: WAL, busy timeout, BEGIN IMMEDIATE, real concurrent processes."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from hyperstep.errors import ConfigError, ConflictError
from hyperstep.model import ExecutionStatus as S
from hyperstep.store import BUSY_TIMEOUT, Store
from hyperstep.store.database import Database

TEMPLATE = ".hyperstep/executions/{counter}"


@pytest.fixture
def sqlite_store(sqlite_url: str, tmp_path: Path) -> Any:
    store = Store.open(sqlite_url, tmp_path)
    yield store
    store.close()


def _db_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def test_synchronous_can_be_relaxed_by_url(sqlite_url: str, tmp_path: Path) -> None:
    with (
        Store.open(sqlite_url + "?synchronous=normal", tmp_path) as store,
        store._db.read() as conn,
    ):
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    with pytest.raises(ConfigError, match="synchronous='off'"):
        Store.open(sqlite_url + "?synchronous=off", tmp_path)


def test_connection_settings(sqlite_store: Store) -> None:
    with sqlite_store._db.read() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": int(BUSY_TIMEOUT * 1000),
        "synchronous": 2,  # FULL
    }


def test_writes_begin_immediate_and_reads_deferred(sqlite_store: Store) -> None:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0] + (" IMMEDIATE" if "IMMEDIATE" in statement else ""))

    event.listen(sqlite_store._db.engine, "before_cursor_execute", record)
    rec = sqlite_store.create_execution(
        step="s", parameters={}, command="c", exec_dir_template=TEMPLATE
    )
    assert statements[0] == "BEGIN IMMEDIATE"
    statements.clear()
    sqlite_store.get_execution(id=rec.id)
    assert statements[0] == "BEGIN"


def test_the_default_store_lives_in_the_project(tmp_path: Path) -> None:
    with Store.open(None, tmp_path) as store:
        assert store.dialect == "sqlite"
        assert store.url == f"sqlite:///{tmp_path.resolve()}/.hyperstep/hyperstep.db"
    assert (tmp_path / ".hyperstep" / "hyperstep.db").is_file()


def _read_then_write(db: Database, *, immediate: bool, url: str) -> threading.Thread:
    """The SQLITE_BUSY_SNAPSHOT reproduction: read, another connection commits, write."""
    other_done = threading.Event()

    def other_writer() -> None:
        raw = sqlite3.connect(_db_path(url), timeout=5, isolation_level=None)
        raw.execute("INSERT INTO counters VALUES ('other', 0)")
        raw.close()
        other_done.set()

    other = threading.Thread(target=other_writer)

    def work(conn: sa.Connection) -> None:
        conn.exec_driver_sql("SELECT count(*) FROM counters").scalar()
        other.start()
        if not immediate:
            other.join()  # it commits at once: nothing holds a write lock yet
        else:
            # It has to wait for this transaction, whose write lock is already held.
            assert not other_done.wait(0.5)
        conn.exec_driver_sql("INSERT INTO counters VALUES ('mine', 0)")

    if immediate:
        db.write(work)
    else:
        with db.read() as conn:  # a deferred BEGIN, as pysqlite would do by default
            work(conn)
    return other


def test_deferred_read_then_write_fails_without_waiting(
    sqlite_store: Store, sqlite_url: str
) -> None:
    # Why writes begin IMMEDIATE: a deferred transaction that read before another connection
    # committed cannot upgrade to a write, and SQLite says so at once despite busy_timeout.
    with pytest.raises(OperationalError, match="database is locked"):
        _read_then_write(sqlite_store._db, immediate=False, url=sqlite_url)


def test_immediate_write_transactions_serialise_instead(
    sqlite_store: Store, sqlite_url: str
) -> None:
    other = _read_then_write(sqlite_store._db, immediate=True, url=sqlite_url)
    other.join(timeout=30)
    assert not other.is_alive()
    raw = sqlite3.connect(_db_path(sqlite_url))
    names = {row[0] for row in raw.execute("SELECT name FROM counters")}
    raw.close()
    assert {"mine", "other"} <= names


def test_a_writer_waits_for_the_lock_instead_of_failing(
    sqlite_store: Store, sqlite_url: str
) -> None:
    raw = sqlite3.connect(_db_path(sqlite_url), isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    result: list[object] = []

    def write() -> None:
        try:
            result.append(
                sqlite_store.create_execution(
                    step="s", parameters={}, command="c", exec_dir_template=TEMPLATE
                ).counter
            )
        except Exception as exc:  # reported below
            result.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(timeout=0.5)
    assert writer.is_alive() and result == []  # waiting on the lock
    # Readers are not blocked by the held write lock (WAL).
    assert sqlite_store.count_executions() == 0
    raw.execute("COMMIT")
    raw.close()
    writer.join(timeout=30)
    assert result == [1]


@pytest.mark.parametrize(
    ("synchronous", "n"),
    # NORMAL only skips the fsync of each commit: the locking is the same, 2 x 500 run faster.
    [("normal", 500), ("full", 60)],
)
def test_two_processes_writing_concurrently(
    sqlite_url: str, tmp_path: Path, start_worker: Any, synchronous: str, n: int
) -> None:
    # Both start on a database that does not exist yet: they also race to create it.
    sqlite_url += f"?synchronous={synchronous}"
    workers = [start_worker(sqlite_url, label, n) for label in ("a", "b")]
    reader_errors: list[BaseException] = []
    stop = threading.Event()

    def read_while_they_write() -> None:  # a dashboard polling the same file
        try:
            with Store.open(sqlite_url, tmp_path) as store:  # a third process-like opener
                while not stop.is_set():
                    for rec in store.list_executions(limit=5, order="-counter"):
                        store.get_logs(rec.id)
                    stop.wait(0.005)
        except BaseException as exc:
            reader_errors.append(exc)

    reader = threading.Thread(target=read_while_they_write)
    reader.start()
    outputs = [w.communicate(timeout=240) for w in workers]
    stop.set()
    reader.join()
    for w, (out, err) in zip(workers, outputs):
        assert w.returncode == 0, err
        assert "database is locked" not in err
    assert reader_errors == []
    got = {json.loads(out)["label"]: json.loads(out)["counters"] for out, _ in outputs}
    assert sorted(got["a"] + got["b"]) == list(range(1, 2 * n + 1))

    with Store.open(sqlite_url, tmp_path) as store:
        assert store.count_executions() == 2 * n
        assert store.count_executions(status=S.COMPLETE) == 2 * n
        for rec in store.list_executions(limit=None):
            assert rec.n_log_lines == 4 and rec.n_events == 1
            assert rec.cumulative_metadata["i"] == rec.parameters["i"]
        sample = store.get_execution(counter=got["b"][-1])
        assert [line.message for line in store.get_logs(sample.id)][:3] == [
            f"b {n - 1} line {j}" for j in range(3)
        ]
        assert store.integrity_check() == []


def test_a_lock_held_past_the_busy_timeout_is_a_clear_error(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hyperstep.store.database.BUSY_TIMEOUT", 0.2)
    with Store.open(sqlite_url, tmp_path) as store:
        raw = sqlite3.connect(_db_path(sqlite_url), isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(ConflictError, match="stayed locked by another writer"):
                store.create_task(name=None, step="s", type="grid_search", spec={}, seed=None)
        finally:
            raw.execute("ROLLBACK")
            raw.close()
        assert store.count_tasks() == 0
        assert store.create_task(name=None, step="s", type="grid_search", spec={}, seed=None)
