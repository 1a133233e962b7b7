"""``/stream/``: server-sent events of task and execution changes, for live pages.

Each event is ``event: task`` or ``event: execution`` with a JSON object (see
:mod:`hyperstep.api.changes`). A stream ends after ``timeout`` seconds (or when the server
stops); the browser's EventSource reconnects by itself, which also bounds how long a forgotten
tab holds a connection.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from hyperstep.api.changes import ChangeFeed
from hyperstep.api.errors import finite_json, responses
from hyperstep.api.lookup import find_execution, find_task
from hyperstep.api.state import ServerState, StateDep

router = APIRouter(tags=["stream"])

#: Seconds between comment lines that keep proxies from closing a quiet stream.
KEEPALIVE = 15.0


def sse(name: str, data: Any) -> str:
    try:
        text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    except ValueError:
        text = json.dumps(finite_json(data), allow_nan=False, separators=(",", ":"))
    return f"event: {name}\ndata: {text}\n\n"


@router.get(
    "/stream/",
    responses={
        **responses(404),
        200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
    },
)
def stream(
    request: Request,
    state: StateDep,
    task: Annotated[str | None, Query(max_length=100, description="only this task")] = None,
    execution: Annotated[
        str | None, Query(max_length=100, description="only this execution")
    ] = None,
    timeout: Annotated[float | None, Query(ge=1, le=3600, description="seconds")] = None,
) -> StreamingResponse:
    """Task and execution changes as server-sent events (``event: task|execution``)."""
    feed = ChangeFeed(state.ctx)
    if execution is not None:
        feed.execution_id = find_execution(state.ctx, execution).id
    elif task is not None:
        record = find_task(state.ctx, task)
        feed.task_id = record.id
        feed.planned[record.id] = state.data.planned(record)
    else:
        for record in state.ctx.store.list_tasks(limit=200, order="-counter"):
            feed.planned[record.id] = state.data.planned(record)
    lifetime = timeout if timeout is not None else state.stream_timeout
    return StreamingResponse(
        _events(request, state, feed, lifetime),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


async def _events(
    request: Request, state: ServerState, feed: ChangeFeed, lifetime: float
) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    deadline = time.monotonic() + lifetime
    quiet_since = time.monotonic()
    while time.monotonic() < deadline and not state.engine.closing:
        events = await run_in_threadpool(feed.poll)
        for name, data in events:
            yield sse(name, data)
        now = time.monotonic()
        if events:
            quiet_since = now
        elif now - quiet_since > KEEPALIVE:
            quiet_since = now
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(state.stream_interval)
