"""Executions: creation with counters, compare-and-set status changes, and listing."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hyperstep.errors import ConflictError, NotFoundError
from hyperstep.model import EXECUTION_TRANSITIONS, ExecutionStatus
from hyperstep.store.base import (
    QueriesBase,
    allocate,
    as_enums,
    check_fields,
    now,
)
from hyperstep.store.records import ExecutionRecord
from hyperstep.store.schema import EXECUTION_COUNTER, dumps, executions, loads, tasks

Order = Literal["counter", "-counter"]
StatusFilter = ExecutionStatus | str | Collection[ExecutionStatus | str] | None

#: Fields ``update_execution`` and ``transition`` may set (status goes through ``transition``;
#: counts and offsets of ingested output through ``append_output``).
UPDATABLE = frozenset(
    {
        "attempt",
        "command",
        "exec_dir",
        "runner_ref",
        "pid",
        "host",
        "exit_code",
        "queue_time",
        "start_time",
        "end_time",
        "status_detail",
        "stdout_offset",
        "stderr_offset",
    }
)
TIME_FIELDS = ("queue_time", "start_time", "end_time")


def _stamp_column(status: ExecutionStatus) -> str | None:
    """The time column a status change records when the caller gives none."""
    if status is ExecutionStatus.QUEUED:
        return "queue_time"
    if status is ExecutionStatus.STARTED:
        return "start_time"
    if status.is_final:
        return "end_time"
    return None


def _select() -> sa.Select[Any]:
    return sa.select(*executions.c, tasks.c.counter.label("task_counter")).select_from(
        executions.outerjoin(tasks, executions.c.task_id == tasks.c.id)
    )


def execution_from_mapping(m: Mapping[Any, Any]) -> ExecutionRecord:
    return ExecutionRecord(
        id=m["id"],
        counter=m["counter"],
        task_id=m["task_id"],
        task_counter=m["task_counter"],
        task_index=m["task_index"],
        attempt=m["attempt"],
        step=m["step"],
        status=ExecutionStatus(m["status"]),
        parameters=m["parameters"],
        command=m["command"],
        exec_dir=m["exec_dir"],
        runner_ref=m["runner_ref"],
        pid=m["pid"],
        host=m["host"],
        exit_code=m["exit_code"],
        ctime=m["ctime"],
        queue_time=m["queue_time"],
        start_time=m["start_time"],
        end_time=m["end_time"],
        status_detail=m["status_detail"],
        cumulative_metadata=m["cumulative_metadata"],
        stdout_offset=m["stdout_offset"],
        stderr_offset=m["stderr_offset"],
        n_log_lines=m["n_log_lines"],
        n_events=m["n_events"],
    )


def _new_values(
    *,
    counter: int,
    step: str,
    parameters: Mapping[str, Any],
    command: str,
    exec_dir_template: str,
    task_id: str | None,
    task_index: int | None,
    status: ExecutionStatus,
    ctime: float,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "counter": counter,
        "task_id": task_id,
        "task_index": task_index,
        "attempt": 1,
        "step": step,
        "status": status.value,
        # Round-trip through JSON so the record returned now equals the one read back later.
        "parameters": loads(dumps(dict(parameters))),
        "command": command,
        "exec_dir": exec_dir_template.format(counter=counter),
        "runner_ref": None,
        "pid": None,
        "host": None,
        "exit_code": None,
        "ctime": ctime,
        "queue_time": None,
        "start_time": None,
        "end_time": None,
        "status_detail": None,
        "cumulative_metadata": {},
        "stdout_offset": 0,
        "stderr_offset": 0,
        "n_log_lines": 0,
        "n_events": 0,
    }
    stamp = _stamp_column(status)
    if stamp is not None:
        values[stamp] = ctime
    return values


def _check_template(template: str) -> None:
    if "{counter}" not in template:
        raise ValueError(
            f"exec_dir_template {template!r} lacks {{counter}}: executions would share a folder"
        )


def _task_row(conn: Connection, task_id: str) -> tuple[int, str]:
    """The task's counter and step; NotFoundError when there is no such task."""
    row = conn.execute(
        sa.select(tasks.c.counter, tasks.c.step).where(tasks.c.id == task_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"task {task_id} not found")
    return int(row.counter), str(row.step)


def _status_clause(status: StatusFilter) -> sa.ColumnElement[bool] | None:
    if status is None:
        return None
    return executions.c.status.in_([s.value for s in as_enums(status, ExecutionStatus)])


def _filters(task_id: str | None, status: StatusFilter) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if task_id is not None:
        clauses.append(executions.c.task_id == task_id)
    clause = _status_clause(status)
    if clause is not None:
        clauses.append(clause)
    return clauses


class ExecutionQueries(QueriesBase):
    """The execution half of the store's API."""

    def create_execution(
        self,
        *,
        step: str,
        parameters: Mapping[str, Any],
        command: str,
        exec_dir_template: str,
        task_id: str | None = None,
        task_index: int | None = None,
        status: ExecutionStatus = ExecutionStatus.CREATED,
    ) -> ExecutionRecord:
        """Persist one execution with the next ``#N`` counter.

        ``exec_dir_template`` is formatted with the counter: ``.hyperstep/executions/{counter}``.
        Raises ConflictError when the task already has an execution at ``task_index`` (use
        :meth:`create_task_executions` for idempotent batches).
        """
        status = ExecutionStatus(status)
        _check_template(exec_dir_template)

        def work(conn: Connection) -> ExecutionRecord:
            task_counter = _task_row(conn, task_id)[0] if task_id is not None else None
            if task_id is not None and task_index is not None:
                taken = conn.execute(
                    sa.select(executions.c.counter).where(
                        executions.c.task_id == task_id, executions.c.task_index == task_index
                    )
                ).scalar()
                if taken is not None:
                    raise ConflictError(
                        f"task {task_id} already has execution #{taken} at index {task_index}"
                    )
            (counter,) = allocate(conn, EXECUTION_COUNTER, 1)
            values = _new_values(
                counter=counter,
                step=step,
                parameters=parameters,
                command=command,
                exec_dir_template=exec_dir_template,
                task_id=task_id,
                task_index=task_index,
                status=status,
                ctime=now(),
            )
            conn.execute(sa.insert(executions), [values])
            return execution_from_mapping({**values, "task_counter": task_counter})

        try:
            return self._db.write(work)
        except IntegrityError:  # another writer took the same (task, index) meanwhile
            raise ConflictError(
                f"task {task_id} already has an execution at index {task_index}"
            ) from None

    def create_task_executions(
        self,
        task_id: str,
        items: Sequence[tuple[int, Mapping[str, Any], str]],
        exec_dir_template: str,
    ) -> list[ExecutionRecord]:
        """Persist a batch of proposals ``(task_index, parameters, command)`` atomically.

        Idempotent on ``(task_id, task_index)``: an index that already exists is returned as it
        is stored, not created again, so an engine that died between persisting and launching
        can safely persist the same proposals again. The result follows ``items``' order.
        """
        _check_template(exec_dir_template)
        indices = [index for index, _, _ in items]
        if len(set(indices)) != len(indices):
            raise ValueError("create_task_executions: duplicate task_index in one batch")

        def work(conn: Connection) -> list[ExecutionRecord]:
            task_counter, step = _task_row(conn, task_id)
            existing: dict[int, ExecutionRecord] = {}
            if indices:
                rows = conn.execute(
                    _select().where(
                        executions.c.task_id == task_id, executions.c.task_index.in_(indices)
                    )
                ).mappings()
                for row in rows:
                    existing[row["task_index"]] = execution_from_mapping(row)
            missing = [item for item in items if item[0] not in existing]
            numbers = allocate(conn, EXECUTION_COUNTER, len(missing))
            ctime = now()
            created: dict[int, ExecutionRecord] = {}
            rows_to_insert: list[dict[str, Any]] = []
            for counter, (index, parameters, command) in zip(numbers, missing, strict=True):
                values = _new_values(
                    counter=counter,
                    step=step,
                    parameters=parameters,
                    command=command,
                    exec_dir_template=exec_dir_template,
                    task_id=task_id,
                    task_index=index,
                    status=ExecutionStatus.CREATED,
                    ctime=ctime,
                )
                rows_to_insert.append(values)
                created[index] = execution_from_mapping({**values, "task_counter": task_counter})
            if rows_to_insert:
                conn.execute(sa.insert(executions), rows_to_insert)
            return [existing.get(index) or created[index] for index in indices]

        try:
            return self._db.write(work)
        except IntegrityError:
            # Another writer persisted some of the same indices first (PostgreSQL: the unique
            # index made this transaction wait, then fail). Now they exist: return them.
            return self._db.write(work)

    def transition(
        self,
        execution_id: str,
        expected: ExecutionStatus | Collection[ExecutionStatus],
        new: ExecutionStatus,
        **fields: Any,
    ) -> bool:
        """Compare-and-set the status: True if it was one of ``expected`` and is now ``new``.

        ``fields`` are set in the same statement (``exit_code``, ``end_time``...). Raises
        ValueError for a change ``model.EXECUTION_TRANSITIONS`` forbids, NotFoundError for an
        unknown id. QUEUED, STARTED and the final statuses stamp ``queue_time``,
        ``start_time`` and ``end_time`` when not given and not already set.
        """
        new = ExecutionStatus(new)
        sources = as_enums(expected, ExecutionStatus)
        for source in sources:
            if new not in EXECUTION_TRANSITIONS[source]:
                raise ValueError(f"illegal execution transition {source.value} -> {new.value}")
        values: dict[str, Any] = check_fields(fields, UPDATABLE, TIME_FIELDS, "execution")
        values["status"] = new.value
        stamp = _stamp_column(new)
        if stamp is not None and values.get(stamp) is None:
            values[stamp] = sa.func.coalesce(executions.c[stamp], now())
        statement = (
            sa.update(executions)
            .where(
                executions.c.id == execution_id,
                executions.c.status.in_([s.value for s in sources]),
            )
            .values(**values)
        )

        def work(conn: Connection) -> bool:
            if conn.execute(statement).rowcount == 1:
                return True
            self._require_execution(conn, execution_id)
            return False

        return self._db.write(work)

    def update_execution(self, execution_id: str, **fields: Any) -> None:
        """Set non-status fields (``pid``, ``host``, ``runner_ref``, ``attempt``...)."""
        values = check_fields(fields, UPDATABLE, TIME_FIELDS, "execution")
        if not values:
            return
        statement = sa.update(executions).where(executions.c.id == execution_id).values(**values)

        def work(conn: Connection) -> None:
            if conn.execute(statement).rowcount != 1:
                raise NotFoundError(f"execution {execution_id} not found")

        self._db.write(work)

    @staticmethod
    def _require_execution(conn: Connection, execution_id: str) -> None:
        found = conn.execute(
            sa.select(executions.c.id).where(executions.c.id == execution_id)
        ).scalar()
        if found is None:
            raise NotFoundError(f"execution {execution_id} not found")

    # -- reads -------------------------------------------------------------------------------

    def get_execution(
        self, *, counter: int | None = None, id: str | None = None
    ) -> ExecutionRecord:
        """One execution by ``counter`` (``#N``) or by ``id``; NotFoundError when unknown."""
        if (counter is None) == (id is None):
            raise TypeError("get_execution: give exactly one of counter= or id=")
        if counter is not None:
            clause = executions.c.counter == counter
            label = f"#{counter}"
        else:
            clause = executions.c.id == id
            label = str(id)
        with self._db.read() as conn:
            row = conn.execute(_select().where(clause)).mappings().one_or_none()
        if row is None:
            raise NotFoundError(f"execution {label} not found")
        return execution_from_mapping(row)

    def list_executions(
        self,
        task_id: str | None = None,
        status: StatusFilter = None,
        limit: int | None = 100,
        offset: int = 0,
        order: Order = "counter",
    ) -> list[ExecutionRecord]:
        """Executions, optionally of one task and in some statuses, paged by counter."""
        if order not in ("counter", "-counter"):
            raise ValueError(f"order must be 'counter' or '-counter', not {order!r}")
        key = executions.c.counter.desc() if order == "-counter" else executions.c.counter.asc()
        statement = _select().where(*_filters(task_id, status)).order_by(key).offset(offset)
        if limit is not None:
            statement = statement.limit(limit)
        with self._db.read() as conn:
            return [execution_from_mapping(row) for row in conn.execute(statement).mappings()]

    def count_executions(self, task_id: str | None = None, status: StatusFilter = None) -> int:
        statement = (
            sa.select(sa.func.count()).select_from(executions).where(*_filters(task_id, status))
        )
        with self._db.read() as conn:
            return int(conn.execute(statement).scalar_one())
