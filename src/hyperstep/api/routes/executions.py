"""``/executions/``: list (paged, ordered, by task and status), run one, show, logs, metadata,
stop."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from hyperstep import service
from hyperstep.api.errors import SafeJSONResponse, responses
from hyperstep.api.listing import DEFAULT_LIMIT, MAX_LIMIT, Ordering, page_links
from hyperstep.api.lookup import execution_statuses, find_execution, find_task
from hyperstep.api.models import (
    ExecutionCreate,
    ExecutionList,
    ExecutionOut,
    LogPage,
    MetadataPage,
)
from hyperstep.api.payloads import step_of
from hyperstep.api.state import StateDep
from hyperstep.errors import ValidationError
from hyperstep.store.records import STREAMS, iso_time

router = APIRouter(tags=["executions"])

ExecutionId = Annotated[str, Path(max_length=100, description="the execution's id, or its counter")]
MAX_EVENTS = 50_000


@router.get("/executions/", response_model=ExecutionList, responses=responses(404))
def list_executions(
    state: StateDep,
    task: Annotated[str | None, Query(max_length=100, description="task id or counter")] = None,
    status: Annotated[
        str | None, Query(max_length=200, description="e.g. complete,error or incomplete")
    ] = None,
    ordering: Annotated[
        str | None,
        Query(max_length=200, description="counter, -duration, parameters.lr, -metadata.loss…"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> SafeJSONResponse:
    """Executions, newest first unless ``ordering`` says otherwise."""
    order = Ordering.parse(ordering)
    statuses = execution_statuses(status)
    store = state.ctx.store
    task_record = find_task(state.ctx, task) if task is not None else None
    task_id = task_record.id if task_record is not None else None
    if order.by_counter:
        count = store.count_executions(task_id=task_id, status=statuses)
        records = store.list_executions(
            task_id=task_id,
            status=statuses,
            limit=limit,
            offset=offset,
            order="-counter" if order.descending else "counter",
        )
    else:
        if task_record is None:
            raise ValidationError(
                "ordering by anything but the counter needs a task (task=…)", field="ordering"
            )
        every = state.data.ordered(task_record, order, statuses)
        count = len(every)
        records = every[offset : offset + limit]
    following, previous = page_links(
        "/api/v0/executions/",
        {"task": task, "status": status, "ordering": ordering},
        count,
        limit,
        offset,
    )
    return SafeJSONResponse(
        {
            "count": count,
            "next": following,
            "previous": previous,
            "results": [service.execution_json(r) for r in records],
        }
    )


@router.post("/executions/", status_code=201, response_model=ExecutionOut, responses=responses())
def create_execution(payload: ExecutionCreate, state: StateDep) -> SafeJSONResponse:
    """Run one execution of a step with the given parameter values (the rest: defaults)."""
    if payload.inputs:
        raise ValidationError(
            "hyperstep does not download inputs; put the data in the project folder",
            field="inputs",
        )
    step = step_of(state.ctx, payload.step)
    record = service.create_execution(state.ctx, step.name, payload.parameters)
    state.engine.run_execution(record)
    return SafeJSONResponse(service.execution_json(record), status_code=201)


@router.get("/executions/{execution_id}/", response_model=ExecutionOut, responses=responses(404))
def get_execution(execution_id: ExecutionId, state: StateDep) -> SafeJSONResponse:
    """One execution (by id or counter) in Valohai's shape."""
    return SafeJSONResponse(service.execution_json(find_execution(state.ctx, execution_id)))


@router.post(
    "/executions/{execution_id}/stop/",
    response_model=ExecutionOut,
    responses=responses(404, 409),
)
def stop_execution(execution_id: ExecutionId, state: StateDep) -> SafeJSONResponse:
    """Stop an execution: SIGTERM to its process group, SIGKILL after the grace period."""
    record = find_execution(state.ctx, execution_id)
    return SafeJSONResponse(
        service.execution_json(service.stop_execution(state.ctx, record.counter))
    )


@router.get("/executions/{execution_id}/events/", response_model=LogPage, responses=responses(404))
def execution_logs(
    execution_id: ExecutionId,
    state: StateDep,
    after: Annotated[int, Query(ge=0, le=2**31, description="lines after this seq")] = 0,
    tail: Annotated[
        int | None, Query(ge=1, le=MAX_EVENTS, description="only the last N lines")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS)] = 5000,
    stream: Literal["stdout", "stderr", "status"] | None = None,
) -> SafeJSONResponse:
    """Log lines (stdout, stderr and status) in order, as Valohai's events endpoint."""
    record = find_execution(state.ctx, execution_id)
    if tail is not None:
        after = max(after, record.n_log_lines - tail)
    lines = state.ctx.store.get_logs(
        record.id, after_seq=after, limit=limit, stream=stream if stream in STREAMS else None
    )
    last = lines[-1].seq if lines else after
    return SafeJSONResponse(
        {
            "total": record.n_log_lines,
            "truncated": last < record.n_log_lines and len(lines) >= limit,
            "events": [
                {
                    "seq": line.seq,
                    "stream": line.stream,
                    "time": iso_time(line.time),
                    "message": line.message,
                }
                for line in lines
            ],
        }
    )


@router.get(
    "/executions/{execution_id}/metadata/",
    response_model=MetadataPage,
    responses=responses(404),
)
def execution_metadata(
    execution_id: ExecutionId,
    state: StateDep,
    after: Annotated[int, Query(ge=0, le=2**31, description="events after this seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS)] = 10_000,
) -> SafeJSONResponse:
    """Metadata events in order, each with its ``_time``: the data of the execution's charts."""
    record = find_execution(state.ctx, execution_id)
    events = state.ctx.store.get_events(record.id, after_seq=after, limit=limit)
    keys: dict[str, None] = {}
    for event in events:
        for key in event.data:
            keys.setdefault(key, None)
    return SafeJSONResponse(
        {
            "total": record.n_events,
            "keys": sorted(keys),
            "events": [{"seq": e.seq, "time": iso_time(e.time), "data": e.data} for e in events],
        }
    )
