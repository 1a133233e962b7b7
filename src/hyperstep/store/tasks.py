"""Tasks: creation with ``!N`` counters, compare-and-set status changes, status summaries."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hyperstep.errors import NotFoundError
from hyperstep.model import ExecutionStatus, TaskStatus, TaskType
from hyperstep.store.base import QueriesBase, allocate, as_enums, check_fields, now
from hyperstep.store.records import TaskRecord
from hyperstep.store.schema import TASK_COUNTER, dumps, executions, loads, tasks

#: Fields ``update_task`` and ``transition_task`` may set; leases have their own methods.
UPDATABLE = frozenset(
    {"name", "spec", "seed", "status_detail", "stopped_by_execution", "start_time", "end_time"}
)
TIME_FIELDS = ("start_time", "end_time")

#: The keys of Valohai's task ``status_summary``, in its order.
SUMMARY_KEYS = (
    "count",
    "created_count",
    "queued_count",
    "started_count",
    "complete_count",
    "error_count",
    "crashed_count",
    "stopping_count",
    "stopping_hard_count",
    "stopped_count",
)


def task_from_mapping(m: Mapping[Any, Any]) -> TaskRecord:
    return TaskRecord(
        id=m["id"],
        counter=m["counter"],
        name=m["name"],
        step=m["step"],
        type=TaskType(m["type"]),
        status=TaskStatus(m["status"]),
        spec=m["spec"],
        seed=m["seed"],
        ctime=m["ctime"],
        start_time=m["start_time"],
        end_time=m["end_time"],
        status_detail=m["status_detail"],
        stopped_by_execution=m["stopped_by_execution"],
        lease_owner=m["lease_owner"],
        lease_expires=m["lease_expires"],
    )


def require_task(conn: Connection, task_id: str) -> None:
    if conn.execute(sa.select(tasks.c.id).where(tasks.c.id == task_id)).scalar() is None:
        raise NotFoundError(f"task {task_id} not found")


class TaskQueries(QueriesBase):
    """The task half of the store's API."""

    def create_task(
        self,
        *,
        name: str | None,
        step: str,
        type: TaskType | str,
        spec: Mapping[str, Any],
        seed: int | None,
    ) -> TaskRecord:
        """Persist a task in status CREATED with the next ``!N`` counter."""
        task_type = type if isinstance(type, TaskType) else TaskType.parse(type)

        def work(conn: Connection) -> TaskRecord:
            (counter,) = allocate(conn, TASK_COUNTER, 1)
            values: dict[str, Any] = {
                "id": str(uuid.uuid4()),
                "counter": counter,
                "name": name,
                "step": step,
                "type": task_type.value,
                "status": TaskStatus.CREATED.value,
                "spec": loads(dumps(dict(spec))),
                "seed": seed,
                "ctime": now(),
                "start_time": None,
                "end_time": None,
                "status_detail": None,
                "stopped_by_execution": None,
                "lease_owner": None,
                "lease_expires": None,
            }
            conn.execute(sa.insert(tasks), [values])
            return task_from_mapping(values)

        return self._db.write(work)

    def get_task(self, *, counter: int | None = None, id: str | None = None) -> TaskRecord:
        """One task by ``counter`` (``!N``) or by ``id``; NotFoundError when unknown."""
        if (counter is None) == (id is None):
            raise TypeError("get_task: give exactly one of counter= or id=")
        if counter is not None:
            clause = tasks.c.counter == counter
            label = f"!{counter}"
        else:
            clause = tasks.c.id == id
            label = str(id)
        with self._db.read() as conn:
            row = conn.execute(sa.select(tasks).where(clause)).mappings().one_or_none()
        if row is None:
            raise NotFoundError(f"task {label} not found")
        return task_from_mapping(row)

    def list_tasks(
        self,
        status: TaskStatus | str | Collection[TaskStatus | str] | None = None,
        limit: int | None = 100,
        offset: int = 0,
        order: Literal["counter", "-counter"] = "counter",
    ) -> list[TaskRecord]:
        if order not in ("counter", "-counter"):
            raise ValueError(f"order must be 'counter' or '-counter', not {order!r}")
        key = tasks.c.counter.desc() if order == "-counter" else tasks.c.counter.asc()
        statement = sa.select(tasks).order_by(key).offset(offset)
        if status is not None:
            statement = statement.where(
                tasks.c.status.in_([s.value for s in as_enums(status, TaskStatus)])
            )
        if limit is not None:
            statement = statement.limit(limit)
        with self._db.read() as conn:
            return [task_from_mapping(row) for row in conn.execute(statement).mappings()]

    def count_tasks(
        self, status: TaskStatus | str | Collection[TaskStatus | str] | None = None
    ) -> int:
        statement = sa.select(sa.func.count()).select_from(tasks)
        if status is not None:
            statement = statement.where(
                tasks.c.status.in_([s.value for s in as_enums(status, TaskStatus)])
            )
        with self._db.read() as conn:
            return int(conn.execute(statement).scalar_one())

    def transition_task(
        self,
        task_id: str,
        expected: TaskStatus | Collection[TaskStatus],
        new: TaskStatus,
        **fields: Any,
    ) -> bool:
        """Compare-and-set the task's status; True if it was one of ``expected``.

        STARTED stamps ``start_time`` and the final statuses ``end_time`` unless given or set.
        """
        new = TaskStatus(new)
        sources = as_enums(expected, TaskStatus)
        values: dict[str, Any] = check_fields(fields, UPDATABLE, TIME_FIELDS, "task")
        values["status"] = new.value
        stamp = "start_time" if new is TaskStatus.STARTED else "end_time" if new.is_final else None
        if stamp is not None and values.get(stamp) is None:
            values[stamp] = sa.func.coalesce(tasks.c[stamp], now())
        statement = (
            sa.update(tasks)
            .where(tasks.c.id == task_id, tasks.c.status.in_([s.value for s in sources]))
            .values(**values)
        )

        def work(conn: Connection) -> bool:
            if conn.execute(statement).rowcount == 1:
                return True
            require_task(conn, task_id)
            return False

        return self._db.write(work)

    def update_task(self, task_id: str, **fields: Any) -> None:
        """Set non-status fields (``status_detail``, ``stopped_by_execution``, ``spec``...)."""
        values = check_fields(fields, UPDATABLE, TIME_FIELDS, "task")
        if not values:
            return
        statement = sa.update(tasks).where(tasks.c.id == task_id).values(**values)

        def work(conn: Connection) -> None:
            if conn.execute(statement).rowcount != 1:
                raise NotFoundError(f"task {task_id} not found")

        self._db.write(work)

    def task_status_summary(self, task_id: str) -> dict[str, int]:
        """Valohai's ``status_summary``: how many of the task's executions are in each status."""
        statement = (
            sa.select(executions.c.status, sa.func.count())
            .where(executions.c.task_id == task_id)
            .group_by(executions.c.status)
        )
        with self._db.read() as conn:
            require_task(conn, task_id)
            counts = {str(status): int(n) for status, n in conn.execute(statement)}
        summary = dict.fromkeys(SUMMARY_KEYS, 0)
        summary["count"] = sum(counts.values())
        for status in ExecutionStatus:
            summary[f"{status.value}_count"] = counts.get(status.value, 0)
        return summary
