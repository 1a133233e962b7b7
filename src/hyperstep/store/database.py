"""Connections and transactions: the SQLite settings that make several processes safe.

SQLite allows one writer at a time. In WAL mode a transaction that starts as a read and later
writes fails with "database is locked" at once, without waiting for the busy timeout, when
another connection committed in between (SQLITE_BUSY_SNAPSHOT). So every write transaction here
starts with ``BEGIN IMMEDIATE``, which takes the write lock up front and does wait; reads stay
deferred and short so they never hold up the writer. pysqlite's own transaction handling is
switched off (``isolation_level = None``) so that the ``BEGIN`` SQLAlchemy emits is ours.

PostgreSQL needs none of this; its write transactions are retried on serialization failures
and deadlocks, a bounded number of times with jitter.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from hyperstep.errors import ConfigError, ConflictError

T = TypeVar("T")

#: How long a writer waits for the SQLite write lock before giving up (seconds).
BUSY_TIMEOUT = 30.0
#: Execution option that marks a connection whose transactions write.
_WRITE_OPTION = "hyperstep_write"
_WRITE_ATTEMPTS = 5
_SQLITE_WRITE_ATTEMPTS = 2  # each attempt already waited BUSY_TIMEOUT for the lock
_PG_RETRYABLE = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected

SUPPORTED = ("sqlite", "postgresql")
SYNCHRONOUS_MODES = ("full", "normal", "extra")


def default_url(project_root: Path) -> str:
    """``sqlite:///<root>/.hyperstep/hyperstep.db``, creating the folder."""
    folder = Path(project_root).resolve() / ".hyperstep"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'hyperstep.db'}"


def _sqlite_connect_listener(synchronous: str) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let our "begin" listener emit BEGIN; pysqlite would otherwise begin lazily, deferred.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA synchronous = {synchronous}")
        finally:
            cursor.close()

    return on_connect


def _sqlite_synchronous(url: URL) -> tuple[URL, str]:
    """Read (and remove) hyperstep's own ``?synchronous=`` option from a SQLite URL.

    FULL (the default) makes every commit survive a power loss too, at the price of an fsync
    per transaction (a few milliseconds; a few small commits per execution are cheap). NORMAL
    never corrupts the database in WAL mode and survives a crash of any process, but the last
    commits may roll back after a power loss or an OS crash.
    """
    value = url.query.get("synchronous", "full")
    text = value if isinstance(value, str) else value[-1]
    if text.lower() not in SYNCHRONOUS_MODES:
        raise ConfigError(
            f"invalid store URL option synchronous={text!r}: expected one of "
            f"{', '.join(SYNCHRONOUS_MODES)}"
        )
    return url.difference_update_query(["synchronous"]), text.upper()


def _on_sqlite_begin(conn: Connection) -> None:
    write = bool(conn.get_execution_options().get(_WRITE_OPTION, False))
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _is_retryable(exc: DBAPIError, dialect: str) -> bool:
    if dialect == "sqlite":
        text = str(exc.orig).lower()
        return "database is locked" in text or "database is busy" in text
    return getattr(exc.orig, "sqlstate", None) in _PG_RETRYABLE


class Database:
    """An engine plus the two kinds of transaction the store uses: ``read`` and ``write``."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigError(f"invalid store URL {url!r}: {exc}") from None
        self.dialect = parsed.get_backend_name()
        if self.dialect not in SUPPORTED:
            raise ConfigError(
                f"unsupported store URL {parsed.render_as_string()!r}: expected sqlite:/// or "
                "postgresql+psycopg://"
            )
        self.url = parsed
        kwargs: dict[str, Any] = {}
        synchronous = "FULL"
        if self.dialect == "sqlite":
            parsed, synchronous = _sqlite_synchronous(parsed)
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT}
        else:
            kwargs["pool_pre_ping"] = True
            if "connect_timeout" not in parsed.query:  # an unreachable server fails fast
                kwargs["connect_args"] = {"connect_timeout": 10}
        try:
            self.engine: Engine = sa.create_engine(parsed, **kwargs)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise ConfigError(
                f"cannot use store URL {parsed.render_as_string()!r}: {exc} "
                "(for PostgreSQL install hyperstep[postgres])"
            ) from None
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect_listener(synchronous))
            event.listen(self.engine, "begin", _on_sqlite_begin)
        self._writer = self.engine.execution_options(**{_WRITE_OPTION: True})

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A short read transaction (deferred on SQLite: it never blocks a writer)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction, retried whole when the database says so.

        ``work`` must touch nothing but the database: it may run more than once. On SQLite a
        lock still held after the busy timeout is tried once more, then reported as a
        ConflictError naming the database.
        """
        attempts = _SQLITE_WRITE_ATTEMPTS if self.is_sqlite else _WRITE_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                with self._writer.connect() as conn, conn.begin():
                    return work(conn)
            except DBAPIError as exc:
                if not _is_retryable(exc, self.dialect):
                    raise
                if attempt == attempts:
                    if self.is_sqlite:
                        where = self.url.render_as_string(hide_password=True)
                        raise ConflictError(
                            f"the store at {where} stayed locked by another writer for "
                            f"{attempts * BUSY_TIMEOUT:.0f} s"
                        ) from exc
                    raise
            time.sleep(random.uniform(0.05, 0.5) * attempt)  # noqa: S311 (jitter, not crypto)
        raise AssertionError("unreachable")

    def now(self) -> sa.ColumnElement[float]:
        """The database's clock in epoch seconds, so that leases never depend on a host's clock."""
        if self.is_sqlite:
            return (sa.func.julianday("now") - 2440587.5) * 86400.0
        return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Double())

    def dispose(self) -> None:
        self.engine.dispose()
