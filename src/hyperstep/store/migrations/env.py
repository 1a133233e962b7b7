"""Alembic's entry point: migrate the connection :mod:`hyperstep.store.migrate` hands over.

hyperstep runs Alembic from code (no ``alembic.ini``) inside a transaction it has already
begun under a lock, so this script only uses that connection. For developers writing a new
revision, a ``sqlalchemy.url`` set on the Config works too: see ``migrate.alembic_config``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from hyperstep.store.schema import VERSION_TABLE, metadata


def _migrate(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url given to the migrations")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            _migrate(conn)
    finally:
        engine.dispose()


run()
