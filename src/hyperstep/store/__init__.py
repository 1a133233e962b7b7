"""Persistence of tasks, executions, logs and metadata: SQLite by default, PostgreSQL by URL.

SQLAlchemy Core over one schema for both databases, created and upgraded by Alembic migrations
when a store is opened. See :class:`Store` for the API and ``database.py`` for why SQLite writes
begin IMMEDIATE.
"""

from hyperstep.store.database import BUSY_TIMEOUT, default_url
from hyperstep.store.output import MAX_MESSAGE_BYTES
from hyperstep.store.records import ExecutionRecord, LogLine, MetadataEvent, Stream, TaskRecord
from hyperstep.store.store import Store

__all__ = [
    "BUSY_TIMEOUT",
    "MAX_MESSAGE_BYTES",
    "ExecutionRecord",
    "LogLine",
    "MetadataEvent",
    "Store",
    "Stream",
    "TaskRecord",
    "default_url",
]
