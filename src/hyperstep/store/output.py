"""Execution output: log lines and metadata events, appended with the file offsets they came from.

The engine tails ``stdout.log``/``stderr.log`` and hands each batch over together with the byte
offsets it has read up to. Both go into one transaction, so after a crash the stored offsets say
exactly where to resume reading: no line is lost and none is stored twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hyperstep.errors import NotFoundError
from hyperstep.store.base import QueriesBase, TimeLike, to_epoch
from hyperstep.store.records import STREAMS, LogLine, MetadataEvent, Stream, iso_time
from hyperstep.store.schema import executions, log_lines, metadata_events

#: Longest message kept in the store, in UTF-8 bytes; the log file keeps the whole line.
MAX_MESSAGE_BYTES = 64 * 1024
#: Rows per INSERT round trip: bounds memory and statement size for floods of output.
BATCH_ROWS = 5000
#: From this many lines on, PostgreSQL gets them through COPY.
COPY_THRESHOLD = 100


def clean_message(message: str, stream: str = "stdout") -> str:
    """A message both databases accept: no NUL, valid UTF-8, at most 64 KiB plus a marker."""
    if "\x00" in message:
        message = message.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL
    try:
        data = message.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from errors="surrogateescape"
        data = message.encode("utf-8", "replace")
        message = data.decode("utf-8")
    if len(data) <= MAX_MESSAGE_BYTES:
        return message
    kept = data[:MAX_MESSAGE_BYTES].decode("utf-8", "ignore")  # never split a character
    dropped = len(data) - len(kept.encode("utf-8"))
    where = f"{stream}.log" if stream in ("stdout", "stderr") else "the log file"
    return f"{kept} [… {dropped} more bytes truncated; the full line is in {where}]"


def _insert_log_lines(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert; on PostgreSQL through COPY, several times faster than a pipelined executemany
    for the thousands of lines a chatty training program prints per second."""
    if conn.dialect.name == "postgresql" and len(rows) > COPY_THRESHOLD:
        names = [column.name for column in log_lines.c]
        raw: Any = conn.connection.driver_connection  # the psycopg connection, same transaction
        statement = f"COPY {log_lines.name} ({', '.join(names)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[name] for name in names])
        return
    for chunk in _batches(rows):
        conn.execute(sa.insert(log_lines), chunk)


def _batches(rows: Sequence[dict[str, Any]]) -> list[Sequence[dict[str, Any]]]:
    iterator = iter(rows)
    out: list[Sequence[dict[str, Any]]] = []
    while chunk := list(islice(iterator, BATCH_ROWS)):
        out.append(chunk)
    return out


class OutputQueries(QueriesBase):
    """Append and read an execution's log lines and metadata events."""

    def append_output(
        self,
        execution_id: str,
        *,
        logs: Sequence[tuple[str, TimeLike, str]],
        events: Sequence[tuple[TimeLike, Mapping[str, Any]]],
        stdout_offset: int,
        stderr_offset: int,
    ) -> None:
        """Store a batch of output and the log-file offsets it was read up to, atomically.

        Lines and events get increasing ``seq`` numbers after the ones stored; each event is
        merged into ``cumulative_metadata`` (the latest value of a key wins). Offsets never move
        backwards here (that would ingest lines twice): reset them with ``update_execution``.
        """
        log_rows: list[dict[str, Any]] = []
        for stream, when, message in logs:
            if stream not in STREAMS:
                raise ValueError(
                    f"unknown log stream {stream!r} (expected one of {sorted(STREAMS)})"
                )
            log_rows.append(
                {
                    "stream": stream,
                    "time": to_epoch(when),
                    "message": clean_message(message, stream),
                }
            )
        event_rows: list[dict[str, Any]] = [
            {"time": to_epoch(when), "data": dict(data)} for when, data in events
        ]

        def work(conn: Connection) -> None:
            current = conn.execute(
                sa.select(
                    executions.c.n_log_lines,
                    executions.c.n_events,
                    executions.c.cumulative_metadata,
                    executions.c.stdout_offset,
                    executions.c.stderr_offset,
                ).where(executions.c.id == execution_id)
            ).one_or_none()
            if current is None:
                raise NotFoundError(f"execution {execution_id} not found")
            if stdout_offset < current.stdout_offset or stderr_offset < current.stderr_offset:
                raise ValueError(
                    f"execution {execution_id}: log offsets may not move backwards "
                    f"(stdout {current.stdout_offset} -> {stdout_offset}, "
                    f"stderr {current.stderr_offset} -> {stderr_offset})"
                )
            for seq, row in enumerate(log_rows, start=current.n_log_lines + 1):
                row["execution_id"] = execution_id
                row["seq"] = seq
            for seq, row in enumerate(event_rows, start=current.n_events + 1):
                row["execution_id"] = execution_id
                row["seq"] = seq
            _insert_log_lines(conn, log_rows)
            for chunk in _batches(event_rows):
                conn.execute(sa.insert(metadata_events), chunk)
            values: dict[str, Any] = {
                "stdout_offset": stdout_offset,
                "stderr_offset": stderr_offset,
                "n_log_lines": current.n_log_lines + len(log_rows),
                "n_events": current.n_events + len(event_rows),
            }
            if event_rows:
                merged = dict(current.cumulative_metadata)
                for event in event_rows:
                    merged.update(event["data"])
                values["cumulative_metadata"] = merged
            conn.execute(
                sa.update(executions).where(executions.c.id == execution_id).values(**values)
            )

        self._db.write(work)

    def get_events(
        self, execution_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[MetadataEvent]:
        """Metadata events in order, each ``data`` with its ``_time`` (ISO 8601, UTC)."""
        statement = (
            sa.select(metadata_events)
            .where(
                metadata_events.c.execution_id == execution_id, metadata_events.c.seq > after_seq
            )
            .order_by(metadata_events.c.seq)
        )
        if limit is not None:
            statement = statement.limit(limit)
        with self._db.read() as conn:
            rows = conn.execute(statement).all()
        return [
            MetadataEvent(
                execution_id=row.execution_id,
                seq=row.seq,
                time=row.time,
                data={**row.data, "_time": iso_time(row.time)},
            )
            for row in rows
        ]

    def get_logs(
        self,
        execution_id: str,
        after_seq: int = 0,
        limit: int | None = None,
        stream: Stream | Collection[Stream] | None = None,
    ) -> list[LogLine]:
        """Log lines in order, optionally of some streams only."""
        statement = (
            sa.select(log_lines)
            .where(log_lines.c.execution_id == execution_id, log_lines.c.seq > after_seq)
            .order_by(log_lines.c.seq)
        )
        if stream is not None:
            streams = [stream] if isinstance(stream, str) else list(stream)
            statement = statement.where(log_lines.c.stream.in_(streams))
        if limit is not None:
            statement = statement.limit(limit)
        with self._db.read() as conn:
            rows = conn.execute(statement).all()
        return [
            LogLine(
                execution_id=row.execution_id,
                seq=row.seq,
                stream=row.stream,
                time=row.time,
                message=row.message,
            )
            for row in rows
        ]
