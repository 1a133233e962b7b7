"""``hyperstep serve``: one process serving the REST API, the dashboard and the engine."""

from hyperstep.server.app import create_app
from hyperstep.server.host import EngineHost

__all__ = ["EngineHost", "create_app"]
