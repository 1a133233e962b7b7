"""The REST API's routes, one module per resource, under ``/api/v0/``."""

from __future__ import annotations

from fastapi import APIRouter

from hyperstep.api.routes import executions, steps, stream, tasks

PREFIX = "/api/v0"


def api_router() -> APIRouter:
    """Every API route, mounted under :data:`PREFIX`."""
    router = APIRouter(prefix=PREFIX)
    router.include_router(steps.router)
    router.include_router(tasks.router)
    router.include_router(executions.router)
    router.include_router(stream.router)
    return router
