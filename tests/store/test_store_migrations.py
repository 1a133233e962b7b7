"""Migrations: they build exactly the models, run once under concurrency, and leave head alone."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hyperstep.errors import ConfigError
from hyperstep.store import Store
from hyperstep.store.migrate import alembic_config, head_revision
from hyperstep.store.schema import VERSION_TABLE, metadata
from hyperstep.store.testing import schema_of

TEMPLATE = ".hyperstep/executions/{counter}"
TABLES = {"counters", "tasks", "executions", "metadata_events", "log_lines", VERSION_TABLE}


def _snapshot(url: str) -> dict[str, Any]:
    """Everything that would change if opening the store touched the schema or the data."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            schema = {
                table: (
                    [
                        (c["name"], str(c["type"]), c["nullable"])
                        for c in inspector.get_columns(table)
                    ],
                    sorted(
                        (i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)
                    ),
                    sorted(str(u["column_names"]) for u in inspector.get_unique_constraints(table)),
                )
                for table in sorted(inspector.get_table_names())
            }
            data = {
                table: sorted(map(repr, conn.execute(sa.text(f"SELECT * FROM {table}")).all()))
                for table in sorted(TABLES)
            }
    finally:
        engine.dispose()
    return {"schema": schema, "data": data}


def test_migrations_build_exactly_the_models(store: Store, store_url: str) -> None:
    engine = sa.create_engine(store_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            assert context.get_current_revision() == head_revision()
            assert compare_metadata(context, metadata) == []
            assert set(sa.inspect(conn).get_table_names()) == TABLES
    finally:
        engine.dispose()


def test_reopening_a_database_at_head_changes_nothing(store_url: str, tmp_path: Path) -> None:
    with Store.open(store_url, tmp_path) as store:
        task = store.create_task(name="t", step="s", type="grid_search", spec={}, seed=1)
        rec = store.create_task_executions(task.id, [(0, {"x": 1}, "c")], TEMPLATE)[0]
        store.append_output(
            rec.id,
            logs=[("stdout", 1.0, "l")],
            events=[(1.0, {"m": 1})],
            stdout_offset=2,
            stderr_offset=0,
        )
    before = _snapshot(store_url)
    with Store.open(store_url, tmp_path) as store:
        expected = replace(
            rec, n_log_lines=1, n_events=1, stdout_offset=2, cumulative_metadata={"m": 1}
        )
        assert store.get_execution(counter=1) == expected
    assert _snapshot(store_url) == before


def test_opening_at_head_needs_no_write_lock(sqlite_url: str, tmp_path: Path) -> None:
    Store.open(sqlite_url, tmp_path).close()
    raw = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")  # another process is writing
    opened = threading.Event()

    def open_store() -> None:
        Store.open(sqlite_url, tmp_path).close()
        opened.set()

    opener = threading.Thread(target=open_store)
    opener.start()
    try:
        assert opened.wait(20)  # opened while the write lock is still held
    finally:
        raw.execute("ROLLBACK")
        raw.close()
        opener.join()


def test_an_empty_postgres_schema_is_migrated(pg_url: str, tmp_path: Path) -> None:
    schema = schema_of(pg_url)
    with Store.open(pg_url, tmp_path) as store:
        assert store.dialect == "postgresql"
        store.create_task(name=None, step="s", type="manual_search", spec={}, seed=None)
    engine = sa.create_engine(pg_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            tables = set(
                conn.execute(
                    sa.text(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
                    ),
                    {"s": schema},
                ).scalars()
            )
            public = set(
                conn.execute(
                    sa.text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = 'public'"
                    )
                ).scalars()
            )
            version = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    finally:
        engine.dispose()
    assert tables == TABLES
    assert not (public & {"executions", "log_lines"})  # nothing leaked into public
    assert version == [(head_revision(),)]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_processes_opening_a_fresh_database_at_once(
    kind: str, request: pytest.FixtureRequest, start_worker: Any
) -> None:
    url = request.getfixturevalue("sqlite_url" if kind == "sqlite" else "pg_url")
    workers = [start_worker(url, label, 3) for label in ("a", "b", "c")]
    outputs = [w.communicate(timeout=120) for w in workers]
    for w, (_, err) in zip(workers, outputs):
        assert w.returncode == 0, err
    counters = sorted(n for out, _ in outputs for n in json.loads(out)["counters"])
    assert counters == list(range(1, 10))
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar() == 1
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_again(store_url: str, tmp_path: Path) -> None:
    Store.open(store_url, tmp_path).close()
    engine = sa.create_engine(store_url, poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
            assert set(sa.inspect(conn).get_table_names()) <= {VERSION_TABLE}
    finally:
        engine.dispose()
    with Store.open(store_url, tmp_path) as store:
        assert (
            store.create_task(name=None, step="s", type="grid_search", spec={}, seed=0).counter == 1
        )
        assert store.integrity_check() == []


def test_a_database_from_a_newer_hyperstep_is_refused(store_url: str, tmp_path: Path) -> None:
    Store.open(store_url, tmp_path).close()
    engine = sa.create_engine(store_url, poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    finally:
        engine.dispose()
    with pytest.raises(ConfigError, match="newer hyperstep"):
        Store.open(store_url, tmp_path)


def test_unusable_urls_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unsupported store URL"):
        Store.open("mysql://root@localhost/db", tmp_path)
    with pytest.raises(ConfigError, match="invalid store URL"):
        Store.open("not a url", tmp_path)
    with pytest.raises(ConfigError, match="cannot open the store at postgresql"):
        Store.open("postgresql+psycopg://postgres:secret@127.0.0.1:1/test", tmp_path)
    with pytest.raises(ConfigError) as info:
        Store.open("postgresql+psycopg://postgres:secret@127.0.0.1:1/test", tmp_path)
    assert "secret" not in str(info.value)
