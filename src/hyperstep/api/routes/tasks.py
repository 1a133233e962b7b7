"""``/tasks/``: create (Valohai's payload), validate as the user types, list, show, stop,
plot and export tasks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import Response

from hyperstep import service
from hyperstep.api.errors import SafeJSONResponse, responses
from hyperstep.api.listing import DEFAULT_LIMIT, MAX_LIMIT, page_links
from hyperstep.api.lookup import find_task, task_statuses
from hyperstep.api.models import PlotData, TaskCreate, TaskList, TaskOut, Validation
from hyperstep.api.payloads import check_payload, spec_of, step_of
from hyperstep.api.state import StateDep
from hyperstep.taskspec import validate_task_spec

router = APIRouter(tags=["tasks"])

TaskId = Annotated[str, Path(max_length=100, description="the task's id, or its counter")]


@router.get("/tasks/", response_model=TaskList, responses=responses())
def list_tasks(
    state: StateDep,
    status: Annotated[
        str | None, Query(max_length=200, description="e.g. started,stopping or unfinished")
    ] = None,
    ordering: Literal["counter", "-counter"] = "-counter",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> SafeJSONResponse:
    """Tasks, newest first, with progress and the best execution."""
    statuses = task_statuses(status)
    store = state.ctx.store
    count = store.count_tasks(status=statuses)
    tasks = store.list_tasks(status=statuses, limit=limit, offset=offset, order=ordering)
    following, previous = page_links(
        "/api/v0/tasks/", {"status": status, "ordering": ordering}, count, limit, offset
    )
    return SafeJSONResponse(
        {
            "count": count,
            "next": following,
            "previous": previous,
            "results": [state.data.task_object(t) for t in tasks],
        }
    )


@router.post("/tasks/", status_code=201, response_model=TaskOut, responses=responses())
def create_task(payload: TaskCreate, state: StateDep) -> SafeJSONResponse:
    """Create a task from Valohai's payload and start it; nothing is created if it is invalid."""
    spec = spec_of(state.ctx, payload)
    validate_task_spec(spec, step_of(state.ctx, spec.step))
    task = service.create_task(state.ctx, spec)
    state.engine.drive(task)
    return SafeJSONResponse(state.data.task_object(task), status_code=201)


@router.post("/tasks/validate/", response_model=Validation, responses=responses())
def validate_task(
    state: StateDep,
    payload: Annotated[dict[str, Any], Body(description="a task payload, as for POST /tasks/")],
) -> SafeJSONResponse:
    """Every problem of a task payload (by field), else the number of executions it would
    create and the task as a ``valohai.yaml`` blueprint. Creates nothing."""
    return SafeJSONResponse(check_payload(state.ctx, payload))


@router.get("/tasks/{task_id}/", response_model=TaskOut, responses=responses(404))
def get_task(task_id: TaskId, state: StateDep) -> SafeJSONResponse:
    """One task (by id or counter)."""
    return SafeJSONResponse(state.data.task_object(find_task(state.ctx, task_id)))


@router.post("/tasks/{task_id}/stop/", response_model=TaskOut, responses=responses(404, 409))
def stop_task(task_id: TaskId, state: StateDep) -> SafeJSONResponse:
    """Stop a task: nothing new starts, running executions are stopped."""
    task = find_task(state.ctx, task_id)
    task = service.stop_task(state.ctx, task.counter)
    return SafeJSONResponse(state.data.task_object(task))


@router.get("/tasks/{task_id}/plots/", response_model=PlotData, responses=responses(404))
def task_plots(
    task_id: TaskId,
    state: StateDep,
    metric: Annotated[
        str | None, Query(max_length=200, description="default: the target metric")
    ] = None,
) -> SafeJSONResponse:
    """Every plot's data as column arrays: history, parameters, parameter importance."""
    task = find_task(state.ctx, task_id)
    return SafeJSONResponse(state.data.plots(task, metric))


@router.get(
    "/tasks/{task_id}/export/",
    responses={
        **responses(404),
        200: {"content": {"text/csv": {}, "application/json": {}}, "description": "the file"},
    },
)
def export_task(
    task_id: TaskId,
    state: StateDep,
    format: Literal["csv", "json"] = "csv",
) -> Response:
    """Every execution with its parameters and latest metadata, as a CSV or JSON file."""
    task = find_task(state.ctx, task_id)
    text = service.export_task(state.ctx, task, format)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return Response(
        text,
        media_type=media,
        headers={"content-disposition": f'attachment; filename="task-{task.counter}.{format}"'},
    )
