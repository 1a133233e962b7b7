"""The REST API: Valohai-shaped routes under ``/api/v0/``, and what they share.

:func:`hyperstep.server.app.create_app` assembles the whole server (API, dashboard, security);
this package holds the API's routes, request models, error shapes, the per-task caches and the
access-control middleware.
"""

from hyperstep.api.errors import ErrorBody, SafeJSONResponse
from hyperstep.api.routes import PREFIX, api_router
from hyperstep.api.security import Credentials, SecurityMiddleware, load_or_create_token
from hyperstep.api.state import Engine, ServerState, get_state

__all__ = [
    "PREFIX",
    "Credentials",
    "Engine",
    "ErrorBody",
    "SafeJSONResponse",
    "SecurityMiddleware",
    "ServerState",
    "api_router",
    "get_state",
    "load_or_create_token",
]
