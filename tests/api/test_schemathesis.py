"""Schemathesis against ``/openapi.json``: generated requests for every operation, in-process.

No generated request, valid or not, may get a server error, and every answer must match what
the document promises (status code, content type, body schema). The live stream is left out:
it is a long-lived response, covered by its own tests.
"""

from __future__ import annotations

import contextlib
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.api.support import TOKEN, Server

AUTH = {"Authorization": f"Token {TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 20


def _fuzz(operation: Any, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    check()


def test_no_generated_request_breaks_the_api(server: Server) -> None:
    created = server.client.post("/api/v0/executions/", json={"step": "obj"}).json()
    server.wait_execution(created["id"])  # something for the lookups to find
    schema = schemathesis.openapi.from_asgi("/openapi.json", server.app, headers=AUTH)
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v0/stream/":
            continue
        _fuzz(operation, GenerationMode.POSITIVE)
        with contextlib.suppress(Unsatisfiable):  # nothing to get wrong: no parameters
            _fuzz(operation, GenerationMode.NEGATIVE)
        tested.append(f"{operation.method.upper()} {operation.path}")
    assert len(tested) >= 14, tested
