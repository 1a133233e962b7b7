"""The dashboard: server-rendered pages, small hand-written scripts, Plotly.js served locally.

Nothing comes from a CDN: Plotly.js is the copy inside the installed ``plotly`` package, so
the dashboard works offline and under a Content-Security-Policy of ``'self'``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from hyperstep.web.pages import router

STATIC = Path(__file__).parent / "static"


def plotly_js() -> Path | None:
    """``plotly/package_data/plotly.min.js`` of the installed plotly, if there is one."""
    try:
        path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def install(app: FastAPI) -> None:
    """Add the pages, the static files and Plotly.js to ``app``."""
    bundle = plotly_js()

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly() -> Response:
        if bundle is None:
            return PlainTextResponse(
                "console.error('plotly is not installed: pip install hyperstep[web]');",
                media_type="text/javascript",
            )
        return FileResponse(
            bundle,
            media_type="text/javascript",
            headers={"cache-control": "private, max-age=86400"},
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(router)


__all__ = ["install", "plotly_js"]
