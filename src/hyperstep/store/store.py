"""The store: one object with every query, opened on SQLite (default) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from hyperstep.errors import ConfigError
from hyperstep.store import integrity, migrate
from hyperstep.store.database import Database, default_url
from hyperstep.store.executions import ExecutionQueries
from hyperstep.store.leases import LeaseQueries
from hyperstep.store.output import OutputQueries
from hyperstep.store.tasks import TaskQueries


class Store(ExecutionQueries, TaskQueries, OutputQueries, LeaseQueries):
    """Persistence of tasks, executions and their output.

    Every write method is one transaction; every status change is a compare-and-set. The
    engine is the single writer of execution state; the CLI and the API read, and write only
    what they own. Safe to share between threads; each process opens its own.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    def open(cls, url: str | None, project_root: Path) -> Store:
        """Open (creating and migrating to the newest schema as needed) the store at ``url``.

        ``None`` means ``sqlite:///<project_root>/.hyperstep/hyperstep.db``. For PostgreSQL use
        ``postgresql+psycopg://user@host:5432/db`` (add ``?options=-csearch_path%3Dname`` to
        keep the tables in a schema). A SQLite URL may end in ``?synchronous=normal`` to trade
        durability across power loss for speed (the default, ``full``, fsyncs every commit).
        Raises ConfigError when the database cannot be reached.
        """
        db = Database(url if url is not None else default_url(project_root))
        try:
            migrate.upgrade(db)
        except OperationalError as exc:
            db.dispose()
            where = db.url.render_as_string(hide_password=True)
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise ConfigError(f"cannot open the store at {where}: {reason}") from None
        except BaseException:
            db.dispose()
            raise
        return cls(db)

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self._db.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    def now(self) -> float:
        """The database's clock (epoch seconds): the one lease expiry is measured with."""
        with self._db.read() as conn:
            return float(conn.execute(sa.select(self._db.now())).scalar_one())

    def integrity_check(self) -> list[str]:
        """Problems found (SQLite's own check and hyperstep's invariants); empty when sound."""
        with self._db.read() as conn:
            return integrity.problems(conn, sqlite=self._db.is_sqlite)

    def close(self) -> None:
        self._db.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
