"""What the routes share: the context, the engine host, the credentials, the caches.

The API does not import the server that runs it: the engine host is anything with ``drive``
and ``run_execution`` (see :class:`Engine`), which keeps ``api`` below ``server``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Protocol

from fastapi import Depends, Request

from hyperstep.api.security import Credentials
from hyperstep.api.taskdata import TaskData
from hyperstep.service import Context
from hyperstep.store import ExecutionRecord, TaskRecord


class Engine(Protocol):
    """Drives tasks and runs single executions in the background (the server's engine host)."""

    def drive(self, task: TaskRecord) -> bool: ...

    def run_execution(self, record: ExecutionRecord) -> None: ...

    @property
    def closing(self) -> bool: ...


@dataclass
class ServerState:
    """Everything a request handler needs; one per server, kept in ``app.state.hyperstep``.

    ``stream_interval`` is how often the live stream looks for changes and ``stream_timeout``
    how long one stream lasts before the browser reconnects (EventSource does so by itself).
    """

    ctx: Context
    engine: Engine
    credentials: Credentials
    data: TaskData = field(init=False)
    stream_interval: float = 1.0
    stream_timeout: float = 300.0

    def __post_init__(self) -> None:
        self.data = TaskData(self.ctx)


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.hyperstep
    return state


StateDep = Annotated[ServerState, Depends(get_state)]
