"""Every error the API answers, in one shape: ``{"detail": "<field>: <message>", "errors": [...]}``.

hyperstep's own errors map to statuses (ValidationError 422, NotFoundError 404,
ConflictError 409, EngineUnavailable 422, ConfigError 500 since it is the server's file), and
request-schema errors from FastAPI are rewritten to name the payload field as a dotted path
(``configuration.execution_count``). A TaskSpec names fields as blueprint keys
(``execution-count``); :func:`api_field` translates them to the payload's names so the form in
the dashboard can put each message next to its input.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from hyperstep.errors import (
    ConfigError,
    ConflictError,
    EngineUnavailable,
    HyperstepError,
    NotFoundError,
    ValidationError,
)

#: Blueprint keys (TaskSpec's field names in errors) to the REST payload's names.
_FIELD_NAMES = {
    "execution-count": "configuration.execution_count",
    "execution-batch-size": "configuration.execution_batch_size",
    "maximum-queued-executions": "maximum_queued_executions",
    "optimization-target-metric": "configuration.optimization_target_metric",
    "optimization-target-value": "configuration.optimization_target_value",
    "engine": "configuration.engine",
    "stop-condition": "task_stop_expression",
    "on-child-error": "on_child_error",
    "parameter-sets": "parameter_sets",
}

#: Pieces pydantic adds to an error's location for union members and wrappers.
_TYPE_TAG = re.compile(r"^[A-Za-z_-]*\[.*\]$|^(str|int|float|bool|list|dict|none)$")


class FieldError(BaseModel):
    field: str | None
    message: str


class ErrorBody(BaseModel):
    """Every error response: a one-line ``detail`` and one entry per field at fault."""

    detail: str
    errors: list[FieldError]


def api_field(field: str | None) -> str | None:
    """``execution-count`` → ``configuration.execution_count``; other names unchanged."""
    if field is None:
        return None
    head, dot, rest = field.partition(".")
    mapped = _FIELD_NAMES.get(head)
    if mapped is None:
        return field
    return mapped + (dot + rest if dot else "")


def error_entry(exc: HyperstepError) -> dict[str, Any]:
    """``{field, message}`` of one error, the field in the payload's names."""
    field = api_field(getattr(exc, "field", None))
    message = str(exc)
    raw_field = getattr(exc, "field", None)
    if raw_field and message.startswith(f"{raw_field}: "):
        message = message[len(raw_field) + 2 :]
    return {"field": field, "message": message}


def body(errors: Sequence[dict[str, Any]]) -> dict[str, Any]:
    first = errors[0] if errors else {"field": None, "message": "invalid request"}
    detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return {"detail": detail, "errors": list(errors)}


def status_of(exc: HyperstepError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, (ValidationError, EngineUnavailable)):
        return 422
    if isinstance(exc, ConfigError):
        return 500
    return 400


def location(loc: Sequence[Any]) -> str | None:
    """A pydantic location as a dotted payload path: ``("body", "configuration", "x")``."""
    parts = [str(p) for p in loc if not (isinstance(p, str) and _TYPE_TAG.match(p))]
    if parts and parts[0] in ("body", "query", "path"):
        parts = parts[1:]
    return ".".join(parts) or None


def validation_entries(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI/pydantic errors as ``{field, message}``, one per field (the first message)."""
    entries: dict[str | None, dict[str, Any]] = {}
    for error in errors:
        field = location(error.get("loc", ()))
        message = str(error.get("msg", "invalid value"))
        if error.get("type") == "extra_forbidden":
            message = "is not a known field (no such key is accepted here)"
        entries.setdefault(field, {"field": field, "message": message})
    return list(entries.values())


class SafeJSONResponse(JSONResponse):
    """JSON that survives what programs print: NaN and infinities become strings.

    Strict JSON has no NaN, and a metric can be NaN; ``"NaN"``/``"Infinity"``/``"-Infinity"``
    keep the information and still parse in every client.
    """

    def render(self, content: Any) -> bytes:
        try:
            text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except ValueError:
            text = json.dumps(
                finite_json(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
            )
        return text.encode("utf-8")


def finite_json(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the :class:`ErrorBody` shape."""

    async def on_hyperstep(_request: Request, exc: Exception) -> SafeJSONResponse:
        assert isinstance(exc, HyperstepError)
        return SafeJSONResponse(body([error_entry(exc)]), status_code=status_of(exc))

    async def on_validation(_request: Request, exc: Exception) -> SafeJSONResponse:
        assert isinstance(exc, RequestValidationError)
        return SafeJSONResponse(body(validation_entries(exc.errors())), status_code=422)

    async def on_http(_request: Request, exc: Exception) -> SafeJSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        return SafeJSONResponse(
            body([{"field": None, "message": message}]),
            status_code=exc.status_code,
            headers=dict(exc.headers or {}),
        )

    app.add_exception_handler(HyperstepError, on_hyperstep)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route can answer."""
    text = {
        400: "Unreadable request (a body that is not UTF-8 JSON, a foreign Host header)",
        401: "No valid token",
        403: "Cross-site request refused",
        404: "Not found",
        409: "Conflicts with the current state",
        413: "Request body too large",
        422: "Invalid request (the field is named)",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for code in (400, 401, 403, 413, 422, *codes):
        out[code] = {"model": ErrorBody, "description": text[code]}
    return out
