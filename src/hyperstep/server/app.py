"""The server's ASGI application: the REST API, the dashboard and the access control.

:func:`create_app` is the composition root: it is the only place that knows about the API,
the pages and the engine host at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from hyperstep import __version__, web
from hyperstep.api import SafeJSONResponse, SecurityMiddleware, ServerState, api_router
from hyperstep.api import errors as api_errors


def create_app(
    state: ServerState,
    *,
    allowed_hosts: Iterable[str],
    on_shutdown: list[object] | None = None,
) -> ASGIApp:
    """The whole server as one ASGI app, every route behind :class:`SecurityMiddleware`.

    ``allowed_hosts`` are the names the ``Host`` header may carry (without ports).
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        for callback in on_shutdown or []:
            if callable(callback):
                callback()

    app = FastAPI(
        title="hyperstep",
        version=__version__,
        description=(
            "Hyperparameter-optimization tasks over the steps of a valohai.yaml project. "
            "Valohai-shaped routes under /api/v0/; every route needs "
            "'Authorization: Token <token>'."
        ),
        openapi_url="/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN
        redoc_url=None,
        default_response_class=SafeJSONResponse,
        lifespan=lifespan,
    )
    app.state.hyperstep = state
    api_errors.install(app)
    app.include_router(api_router())

    web.install(app)
    return SecurityMiddleware(app, credentials=state.credentials, allowed_hosts=allowed_hosts)
