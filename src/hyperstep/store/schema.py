"""The tables, as SQLAlchemy Core objects, for the queries and for checking the migrations.

The schema itself is created by the Alembic migrations in ``migrations/versions``; these objects
must describe exactly what the migrations build (a test compares the two on SQLite and
PostgreSQL). The same schema serves both databases, so only portable types are used:

* times are ``DOUBLE`` seconds since the epoch (UTC): no time-zone handling differs between
  SQLite and PostgreSQL, and lease expiry compares numbers computed by the database's own clock;
* JSON is stored as text (:class:`JSONText`): PostgreSQL's ``json`` type refuses ``NaN`` and
  ``Infinity``, which training programs do print as metric values and which must round-trip.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: Alembic's version table; named after the project so that a PostgreSQL schema shared with
#: another Alembic-managed application never mixes the two histories.
VERSION_TABLE = "hyperstep_alembic_version"

#: Rows of the ``counters`` table: ``#N`` for executions, ``!N`` for tasks.
EXECUTION_COUNTER = "execution"
TASK_COUNTER = "task"

ID_LENGTH = 36  # a UUID in its canonical text form

# Keys naming the constraints the same way on both databases, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _json_default(value: Any) -> Any:
    """Serialise numpy scalars and arrays (a search may propose them) as plain JSON values."""
    item = getattr(value, "tolist", None)
    if callable(item):
        return item()
    raise TypeError(f"value of type {type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    """JSON text that keeps ``NaN``/``Infinity`` and stays ASCII (no NUL or lone surrogate).

    ASCII output matters: PostgreSQL text cannot hold NUL characters and neither database
    accepts unpaired surrogates, but both survive as ``\\u`` escapes.
    """
    return json.dumps(value, ensure_ascii=True, allow_nan=True, default=_json_default)


def loads(text: str) -> Any:
    return json.loads(text)


class JSONText(TypeDecorator[Any]):
    """A JSON value stored as text, identical on SQLite and PostgreSQL."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else dumps(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else loads(value)


metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.BigInteger(), nullable=False),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("counter", sa.Integer(), nullable=False, unique=True),
    sa.Column("name", sa.Text(), nullable=True),
    sa.Column("step", sa.Text(), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("spec", JSONText(), nullable=False),
    sa.Column("seed", sa.BigInteger(), nullable=True),
    sa.Column("ctime", sa.Double(), nullable=False),
    sa.Column("start_time", sa.Double(), nullable=True),
    sa.Column("end_time", sa.Double(), nullable=True),
    sa.Column("status_detail", sa.Text(), nullable=True),
    sa.Column("stopped_by_execution", sa.Integer(), nullable=True),
    sa.Column("lease_owner", sa.Text(), nullable=True),
    sa.Column("lease_expires", sa.Double(), nullable=True),
    sa.Index(None, "status", "counter"),
)

executions = sa.Table(
    "executions",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("counter", sa.Integer(), nullable=False, unique=True),
    sa.Column(
        "task_id",
        sa.String(ID_LENGTH),
        sa.ForeignKey("tasks.id", ondelete="CASCADE"),
        nullable=True,
    ),
    sa.Column("task_index", sa.Integer(), nullable=True),
    sa.Column("attempt", sa.Integer(), nullable=False, server_default=sa.text("1")),
    sa.Column("step", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("parameters", JSONText(), nullable=False),
    sa.Column("command", sa.Text(), nullable=False),
    sa.Column("exec_dir", sa.Text(), nullable=False),
    sa.Column("runner_ref", JSONText(), nullable=True),
    sa.Column("pid", sa.Integer(), nullable=True),
    sa.Column("host", sa.Text(), nullable=True),
    sa.Column("exit_code", sa.Integer(), nullable=True),
    sa.Column("ctime", sa.Double(), nullable=False),
    sa.Column("queue_time", sa.Double(), nullable=True),
    sa.Column("start_time", sa.Double(), nullable=True),
    sa.Column("end_time", sa.Double(), nullable=True),
    sa.Column("status_detail", sa.Text(), nullable=True),
    sa.Column("cumulative_metadata", JSONText(), nullable=False),
    sa.Column("stdout_offset", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    sa.Column("stderr_offset", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    sa.Column("n_log_lines", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("n_events", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.UniqueConstraint("task_id", "task_index"),
    sa.Index(None, "task_id", "counter"),
    sa.Index(None, "task_id", "status"),
    sa.Index(None, "status", "counter"),
)

metadata_events = sa.Table(
    "metadata_events",
    metadata,
    sa.Column(
        "execution_id",
        sa.String(ID_LENGTH),
        sa.ForeignKey("executions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("seq", sa.Integer(), primary_key=True),
    sa.Column("time", sa.Double(), nullable=False),
    sa.Column("data", JSONText(), nullable=False),
)

log_lines = sa.Table(
    "log_lines",
    metadata,
    sa.Column(
        "execution_id",
        sa.String(ID_LENGTH),
        sa.ForeignKey("executions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("seq", sa.Integer(), primary_key=True),
    sa.Column("stream", sa.String(8), nullable=False),
    sa.Column("time", sa.Double(), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
)
