"""Bring a database to the newest schema, safely when several processes open it at once.

Alembic runs from code: the Config is built here and handed the connection of a transaction
that already holds a lock, so two processes opening a fresh database never both create it
(on SQLite the lock is ``BEGIN IMMEDIATE``'s write lock; on PostgreSQL a transaction-scoped
advisory lock keyed on the schema). A database already at head costs one read and no lock.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection

from hyperstep.errors import ConfigError
from hyperstep.store.database import Database
from hyperstep.store.schema import VERSION_TABLE

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """The Config the migrations need, without an ``alembic.ini``.

    Developers adding a revision can use it from Python::

        from alembic import command
        command.revision(alembic_config("sqlite:///dev.db"), "add x", autogenerate=True)
    """
    config = Config()
    # ConfigParser interpolation: a literal "%" in a path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade(db: Database) -> None:
    """Migrate ``db`` to head; a no-op (one read) when it is there already."""
    head = head_revision()
    with db.read() as conn:
        if current_revision(conn) == head:
            return

    def locked_upgrade(conn: Connection) -> None:
        if not db.is_sqlite:
            conn.execute(
                sa.select(
                    sa.func.pg_advisory_xact_lock(
                        sa.func.hashtext(
                            sa.literal("hyperstep:")
                            + sa.func.coalesce(sa.func.current_schema(), "")
                        )
                    )
                )
            )
        # Another process may have migrated while this one waited for the lock.
        if current_revision(conn) == head:
            return
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")

    try:
        db.write(locked_upgrade)
    except CommandError as exc:
        where = db.url.render_as_string(hide_password=True)
        raise ConfigError(
            f"the store at {where} has a schema this version of hyperstep does not know "
            f"({exc}); it was probably written by a newer hyperstep"
        ) from None
