"""The dashboard's pages: server-rendered HTML, data the scripts need embedded as JSON.

Templates are rendered with autoescaping on, so whatever a program printed (a metric key, a
parameter value, a log line) reaches the page as text; the embedded JSON goes through
Jinja's ``htmlsafe`` dumps (``<``, ``>``, ``&`` and ``'`` escaped) and the scripts only ever
set ``textContent``. The pages read through the same functions as the API routes
(:mod:`hyperstep.api`), so a page and the API never disagree.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2.utils import htmlsafe_json_dumps

from hyperstep import service
from hyperstep.api.errors import finite_json
from hyperstep.api.lookup import task_statuses
from hyperstep.api.payloads import blueprints
from hyperstep.api.routes.steps import step_json
from hyperstep.api.state import ServerState, StateDep
from hyperstep.errors import NotFoundError, ValidationError
from hyperstep.model import ExecutionStatus, TaskStatus

TEMPLATES = Path(__file__).parent / "templates"
FINAL_TASK = [s.value for s in TaskStatus if s.is_final]
FINAL_EXECUTION = [s.value for s in ExecutionStatus if s.is_final]
TASK_FILTERS = [
    ("", "All"),
    ("unfinished", "Unfinished"),
    ("started", "Started"),
    ("complete", "Complete"),
    ("error", "Error"),
    ("stopped", "Stopped"),
]
PAGE_SIZE = 100

router = APIRouter(include_in_schema=False)


def _pagejson(value: Any) -> Any:
    return htmlsafe_json_dumps(finite_json(value))


def _shorttime(value: Any) -> str:
    """An ISO time or epoch seconds as ``2024-05-01 14:03`` (UTC)."""
    if value is None:
        return "–"
    if isinstance(value, (int, float)):
        moment = datetime.fromtimestamp(value, tz=timezone.utc)
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pagejson"] = _pagejson
    env.filters["shorttime"] = _shorttime
    return env


_ENV = environment()


def render(
    request: Request,
    state: ServerState,
    name: str,
    *,
    status_code: int = 200,
    page: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    root = state.ctx.project.root
    html = _ENV.get_template(name).render(
        csrf=state.credentials.csrf_value,
        project_name=root.name,
        project_root=str(root),
        page=page or {},
        nav=context.pop("nav", ""),
        **context,
    )
    return HTMLResponse(
        html, status_code=status_code, headers={"cache-control": "no-store", **(headers or {})}
    )


def not_found(request: Request, state: ServerState, message: str) -> HTMLResponse:
    return render(
        request, state, "error.html", status_code=404, heading="Not found", message=message
    )


@router.get("/")
def home() -> Response:
    return RedirectResponse("/tasks/", status_code=303)


@router.get("/tasks/")
def tasks_page(request: Request, state: StateDep, status: str | None = None) -> Response:
    """The Tasks tab: every task with its type, status, progress and best metric."""
    try:
        statuses = task_statuses(status)
    except ValidationError as exc:
        return render(
            request, state, "error.html", status_code=422, heading="Bad filter", message=str(exc)
        )
    store = state.ctx.store
    tasks = [
        state.data.task_object(t)
        for t in store.list_tasks(status=statuses, limit=PAGE_SIZE, order="-counter")
    ]
    return render(
        request,
        state,
        "tasks.html",
        nav="tasks",
        tasks=tasks,
        total=store.count_tasks(status=statuses),
        status=status or "",
        filters=TASK_FILTERS,
        page={"status": status or "", "limit": PAGE_SIZE},
    )


@router.get("/tasks/new")
def new_task_page(request: Request, state: StateDep) -> Response:
    """Create Task: step, type, settings, a distribution per parameter, live validation."""
    steps = [step_json(s) for s in state.ctx.project.steps.values()]
    prints = blueprints(state.ctx)
    return render(
        request,
        state,
        "task_new.html",
        nav="new",
        steps=steps,
        blueprints=prints,
        page={
            "steps": steps,
            "blueprints": prints,
            "blueprint": request.query_params.get("blueprint", ""),
        },
    )


@router.get("/tasks/{counter}")
def task_page(request: Request, state: StateDep, counter: int) -> Response:
    """One task: progress, best execution, plots, the executions table; live."""
    try:
        record = state.ctx.store.get_task(counter=counter)
    except NotFoundError:
        return not_found(request, state, f"There is no task !{counter}.")
    task = state.data.task_object(record)
    return render(
        request,
        state,
        "task.html",
        nav="tasks",
        task=task,
        final_statuses=FINAL_TASK,
        execution_statuses=[s.value for s in ExecutionStatus],
        page={"task": task, "final": FINAL_TASK},
    )


@router.get("/executions/")
def executions_page(request: Request, state: StateDep, offset: int = 0) -> Response:
    """Every execution, newest first (tasks' and single ones)."""
    offset = max(0, min(offset, 10**9))
    store = state.ctx.store
    records = store.list_executions(limit=PAGE_SIZE, offset=offset, order="-counter")
    return render(
        request,
        state,
        "executions.html",
        nav="executions",
        executions=records,
        total=store.count_executions(),
        offset=offset,
        limit=PAGE_SIZE,
    )


@router.get("/executions/{counter}")
def execution_page(request: Request, state: StateDep, counter: int) -> Response:
    """One execution: parameters, status, command, metadata charts, live log tail."""
    try:
        record = state.ctx.store.get_execution(counter=counter)
    except NotFoundError:
        return not_found(request, state, f"There is no execution #{counter}.")
    data = service.execution_json(record)
    return render(
        request,
        state,
        "execution.html",
        nav="executions",
        e=data,
        final_statuses=FINAL_EXECUTION,
        page={"execution": data, "final": FINAL_EXECUTION},
    )
