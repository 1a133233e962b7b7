"""What every group of queries shares: the database, counters, times and field checks."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hyperstep.store.database import Database
from hyperstep.store.schema import counters

E = TypeVar("E", bound=Enum)

TimeLike = float | int | datetime


def to_epoch(value: TimeLike) -> float:
    """Seconds since the epoch from a number or a datetime (a naive one is local time)."""
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def now() -> float:
    return time.time()


def allocate(conn: Connection, name: str, n: int = 1) -> range:
    """Reserve ``n`` consecutive counter values inside the caller's write transaction.

    One ``UPDATE … RETURNING`` both increments and reads, so two writers can never get the same
    number (the row stays locked until the transaction ends).
    """
    if n < 1:
        return range(0)
    result = conn.execute(
        sa.update(counters)
        .where(counters.c.name == name)
        .values(value=counters.c.value + n)
        .returning(counters.c.value)
    )
    last = int(result.scalar_one())
    return range(last - n + 1, last + 1)


def as_enums(values: E | str | Iterable[E | str], enum: type[E]) -> list[E]:
    """One status or several, as a list; strings are read as the enum's values."""
    # A str-valued Enum member is itself an iterable of characters: treat it as one value.
    if isinstance(values, (str, Enum)):
        return [enum(values)]
    return [enum(v) for v in values]


def check_fields(
    fields: Mapping[str, Any], allowed: Collection[str], time_fields: Collection[str], what: str
) -> dict[str, Any]:
    """The keyword fields of an update, refused when a name is not an updatable column."""
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise TypeError(
            f"cannot set {', '.join(unknown)} on a {what} "
            f"(updatable fields: {', '.join(sorted(allowed))})"
        )
    values = dict(fields)
    for name in time_fields:
        if values.get(name) is not None:
            values[name] = to_epoch(values[name])
    return values


class QueriesBase:
    """Base of the query groups that make up :class:`hyperstep.store.Store`."""

    _db: Database
