"""Consistency checks: SQLite's own, plus the invariants the rest of hyperstep relies on.

Run by the reliability tests after crashes and by anything that wants to vouch for a store; each
problem is one human-readable line, and an empty list means the store is sound.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hyperstep.model import FINAL_EXECUTION_STATUSES, ExecutionStatus, TaskStatus
from hyperstep.store.schema import (
    EXECUTION_COUNTER,
    TASK_COUNTER,
    counters,
    executions,
    log_lines,
    metadata_events,
    tasks,
)

_FINAL_TASK = [s.value for s in TaskStatus if s.is_final]


def sqlite_problems(conn: Connection) -> list[str]:
    problems = [
        f"sqlite integrity_check: {row[0]}"
        for row in conn.exec_driver_sql("PRAGMA integrity_check").all()
        if row[0] != "ok"
    ]
    problems += [
        f"sqlite foreign_key_check: row {row[1]} of {row[0]} refers to a missing {row[2]}"
        for row in conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    ]
    return problems


def _duplicates(conn: Connection, table: sa.Table, what: str) -> list[str]:
    rows = conn.execute(
        sa.select(table.c.counter, sa.func.count())
        .group_by(table.c.counter)
        .having(sa.func.count() > 1)
    ).all()
    return [f"{what} counter {counter} is used {n} times" for counter, n in rows]


def _counter_problems(conn: Connection) -> list[str]:
    problems = []
    values = {
        str(name): int(value)
        for name, value in conn.execute(sa.select(counters.c.name, counters.c.value))
    }
    for name, table in ((EXECUTION_COUNTER, executions), (TASK_COUNTER, tasks)):
        if name not in values:
            problems.append(f"counter {name!r} is missing")
            continue
        highest = conn.execute(sa.select(sa.func.max(table.c.counter))).scalar()
        if highest is not None and highest > values[name]:
            problems.append(
                f"counter {name!r} is at {values[name]} but {table.name} use {highest}: "
                "new numbers would collide"
            )
    return problems


def _execution_problems(conn: Connection) -> list[str]:
    problems = []
    pairs = conn.execute(
        sa.select(executions.c.task_id, executions.c.task_index, sa.func.count())
        .where(executions.c.task_id.is_not(None), executions.c.task_index.is_not(None))
        .group_by(executions.c.task_id, executions.c.task_index)
        .having(sa.func.count() > 1)
    ).all()
    problems += [f"task {t} has {n} executions at index {i}" for t, i, n in pairs]
    known = [s.value for s in ExecutionStatus]
    for counter, status in conn.execute(
        sa.select(executions.c.counter, executions.c.status).where(
            executions.c.status.not_in(known)
        )
    ):
        problems.append(f"execution #{counter} has an unknown status {status!r}")
    for (counter,) in conn.execute(
        sa.select(executions.c.counter).where(
            executions.c.status.in_([s.value for s in FINAL_EXECUTION_STATUSES]),
            executions.c.end_time.is_(None),
        )
    ):
        problems.append(f"execution #{counter} is final but has no end_time")
    for (counter,) in conn.execute(
        sa.select(tasks.c.counter).where(
            tasks.c.status.in_(_FINAL_TASK), tasks.c.end_time.is_(None)
        )
    ):
        problems.append(f"task !{counter} is final but has no end_time")
    return problems


def _sequence_problems(conn: Connection, table: sa.Table, count_column: str) -> list[str]:
    """Each execution's rows are numbered 1..n with n its stored count."""
    stats = (
        sa.select(
            table.c.execution_id,
            sa.func.count().label("n"),
            sa.func.min(table.c.seq).label("lo"),
            sa.func.max(table.c.seq).label("hi"),
        )
        .group_by(table.c.execution_id)
        .subquery()
    )
    stored = executions.c[count_column]
    rows = conn.execute(
        sa.select(executions.c.counter, stored, stats.c.n, stats.c.lo, stats.c.hi)
        .select_from(executions.outerjoin(stats, stats.c.execution_id == executions.c.id))
        .where(
            sa.or_(
                sa.func.coalesce(stats.c.n, 0) != stored,
                sa.and_(stats.c.n.is_not(None), sa.or_(stats.c.lo != 1, stats.c.hi != stored)),
            )
        )
    ).all()
    return [
        f"execution #{counter}: {count_column} is {n_stored} but {table.name} holds "
        f"{n or 0} rows numbered {lo}..{hi}"
        for counter, n_stored, n, lo, hi in rows
    ]


def problems(conn: Connection, *, sqlite: bool) -> list[str]:
    found = sqlite_problems(conn) if sqlite else []
    found += _duplicates(conn, executions, "execution")
    found += _duplicates(conn, tasks, "task")
    found += _counter_problems(conn)
    found += _execution_problems(conn)
    found += _sequence_problems(conn, log_lines, "n_log_lines")
    found += _sequence_problems(conn, metadata_events, "n_events")
    return found
