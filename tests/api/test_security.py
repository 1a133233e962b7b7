"""Access control: the token on every route, Host check, login cookie, CSRF, headers, limits."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from tests.api.support import TOKEN, Server, grid_payload

from hyperstep.api.security import (
    COOKIE_NAME,
    Credentials,
    load_or_create_token,
)
from hyperstep.errors import ConfigError


def _operations(server: Server) -> list[tuple[str, str]]:
    document = server.client.get("/openapi.json").json()
    ops = []
    for path, item in document["paths"].items():
        for method in item:
            concrete = re.sub(r"\{[^}]+\}", "1", path)
            ops.append((method.upper(), concrete))
    return ops


PAGES = [
    "/",
    "/tasks/",
    "/tasks/new",
    "/tasks/1",
    "/executions/",
    "/executions/1",
    "/static/css/app.css",
    "/static/vendor/plotly.min.js",
    "/openapi.json",
]


def test_every_route_answers_401_without_the_token_or_with_a_wrong_one(server: Server) -> None:
    operations = _operations(server) + [("GET", page) for page in PAGES]
    assert len(operations) > 15
    for headers in (
        {},
        {"Authorization": "Token wrong-token-0000000000000"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Cookie": f"{COOKIE_NAME}=forged"},
    ):
        client = server.anonymous(**headers)
        for method, path in operations:
            response = client.request(method, path, json={} if method == "POST" else None)
            assert response.status_code == 401, (method, path, headers, response.text)
    assert server.ctx.store.count_tasks() == 0


def test_the_openapi_document_has_no_command_field(server: Server) -> None:
    document = server.client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name in ("TaskCreate", "ExecutionCreate", "Rules", "Variant", "Configuration"):
        assert "command" not in schemas[name]["properties"], name
        assert schemas[name]["additionalProperties"] is False, name


def test_a_foreign_host_header_is_refused(server: Server) -> None:
    response = server.client.get("/api/v0/steps/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    response = server.client.get("/api/v0/steps/", headers={"Host": "127.0.0.1:8000"})
    assert response.status_code == 200


def test_the_url_token_trades_for_a_strict_cookie_and_leaves_the_address(server: Server) -> None:
    client = server.anonymous()
    response = client.get(f"/tasks/?token={TOKEN}&status=complete", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/tasks/?status=complete"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert TOKEN not in cookie
    assert client.get("/tasks/?status=complete").status_code == 200
    assert client.get("/api/v0/steps/").status_code == 200
    wrong = server.anonymous().get("/tasks/?token=nope", follow_redirects=False)
    assert wrong.status_code == 401


def test_a_browser_without_a_session_gets_a_hint_page(server: Server) -> None:
    response = server.anonymous(Accept="text/html").get("/tasks/")
    assert response.status_code == 401
    assert "text/html" in response.headers["content-type"]
    assert "?token=" in response.text
    assert TOKEN not in response.text


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    ("origin", "csrf", "allowed"),
    [
        (None, None, False),
        (None, "right", False),
        ("http://evil.example", "right", False),
        ("http://testserver", None, False),
        ("http://testserver", "wrong", False),
        ("http://testserver", "right", True),
    ],
)
def test_cookie_requests_that_change_things_need_origin_and_csrf_header(
    server: Server, method: str, origin: str | None, csrf: str | None, allowed: bool
) -> None:
    credentials = Credentials(TOKEN)
    headers = {"Cookie": f"{COOKIE_NAME}={credentials.cookie_value}"}
    if origin is not None:
        headers["Origin"] = origin
    if csrf is not None:
        headers["X-CSRF-Token"] = credentials.csrf_value if csrf == "right" else "0" * 64
    response = server.anonymous(**headers).request(
        method, "/api/v0/tasks/validate/", json=grid_payload()
    )
    if allowed:
        assert response.status_code == (200 if method == "POST" else 405)
    else:
        assert response.status_code == 403, response.text
    assert "access-control-allow-origin" not in response.headers


def test_token_requests_need_no_csrf_header(server: Server) -> None:
    response = server.client.post(
        "/api/v0/tasks/validate/", json=grid_payload(), headers={"Origin": "http://evil.example"}
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_every_response_carries_the_security_headers(server: Server) -> None:
    for response in (
        server.client.get("/tasks/"),
        server.client.get("/api/v0/steps/"),
        server.anonymous().get("/api/v0/steps/"),
        server.client.get("/api/v0/tasks/999/"),
    ):
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_request_bodies_over_one_mebibyte_are_refused(server: Server) -> None:
    big = b'{"step": "obj", "title": "' + b"x" * (1 << 20) + b'"}'
    response = server.client.post(
        "/api/v0/tasks/", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"step": "obj", "title": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = server.client.post(
        "/api/v0/tasks/", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert server.ctx.store.count_tasks() == 0


def test_a_generated_token_is_kept_with_mode_0600(tmp_path: Path) -> None:
    token = load_or_create_token(tmp_path)
    path = tmp_path / ".hyperstep" / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) >= 40
    assert load_or_create_token(tmp_path) == token  # the same on the next start
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_or_create_token(tmp_path)


def test_a_configured_token_wins_and_must_be_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYPERSTEP_TOKEN", "a-configured-token-of-length")
    assert load_or_create_token(tmp_path) == "a-configured-token-of-length"
    assert not (tmp_path / ".hyperstep" / "token").exists()
    monkeypatch.setenv("HYPERSTEP_TOKEN", "short")
    with pytest.raises(ConfigError, match="at least 16"):
        load_or_create_token(tmp_path)


def test_websockets_are_refused(server: Server) -> None:
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect),
        server.client.websocket_connect("/api/v0/stream/") as socket,
    ):
        socket.receive_text()
