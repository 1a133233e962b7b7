"""Access control for the server: a token on every route, a Host allowlist, CSRF and headers.

Running commands is what this server is for, so whoever reaches it can run code on the machine
(Ray's unauthenticated dashboard, CVE-2023-48022, is the cautionary tale). The rules, modelled on
Jupyter's:

* every request needs the token: ``Authorization: Token <token>``, or the session cookie that
  the one-time login URL (``/?token=<token>``) sets, ``HttpOnly`` and ``SameSite=Strict``;
* a request whose ``Host`` header is not one of the server's own names is refused, which stops
  DNS rebinding (a hostile page whose domain resolves to 127.0.0.1);
* a cookie-authenticated request that changes something (POST, PUT, PATCH, DELETE) must also
  carry the CSRF header and come from the server's own Origin;
* request bodies are capped at :data:`MAX_BODY_BYTES`;
* every response carries a Content-Security-Policy without inline scripts, ``nosniff`` and
  ``no-referrer``, so text a program printed can never run in the dashboard.

The token is compared in constant time and never logged; the cookie holds a value derived
from it, not the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hyperstep.errors import ConfigError

#: Environment variable that configures the token (required to bind a non-loopback address).
TOKEN_ENV = "HYPERSTEP_TOKEN"  # noqa: S105 (a variable name, not a secret)
#: Where a generated token is kept, relative to the project folder (mode 0600).
TOKEN_FILE = Path(".hyperstep") / "token"
COOKIE_NAME = "hyperstep_session"
CSRF_HEADER = "x-csrf-token"
MAX_BODY_BYTES = 1 << 20
#: A configured token shorter than this is refused: it could be guessed.
MIN_TOKEN_LENGTH = 16
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; "
    # Plotly.js sets style attributes and injects its own rules: styles only, never scripts.
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


@dataclass(frozen=True)
class Credentials:
    """The server's token and the values derived from it for the cookie and the CSRF header."""

    token: str

    def _derive(self, purpose: str) -> str:
        return hmac.new(self.token.encode(), purpose.encode(), hashlib.sha256).hexdigest()

    @property
    def cookie_value(self) -> str:
        return self._derive("hyperstep session cookie")

    @property
    def csrf_value(self) -> str:
        return self._derive("hyperstep csrf header")

    def token_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.token.encode())

    def cookie_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.cookie_value.encode())

    def csrf_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.csrf_value.encode())


def configured_token() -> str | None:
    """The token from :data:`TOKEN_ENV`, checked; None when the variable is not set."""
    value = os.environ.get(TOKEN_ENV)
    if value is None or value == "":
        return None
    value = value.strip()
    if len(value) < MIN_TOKEN_LENGTH or not value.isprintable() or " " in value:
        raise ConfigError(
            f"{TOKEN_ENV} must be at least {MIN_TOKEN_LENGTH} printable characters without "
            "spaces (generate one with: python -c 'import secrets; print(secrets.token_urlsafe())')"
        )
    return value


def load_or_create_token(project_root: Path) -> str:
    """The configured token, else the one in ``<project>/.hyperstep/token`` (created 0600).

    A token file readable by other users is refused rather than silently trusted.
    """
    value = configured_token()
    if value is not None:
        return value
    path = project_root / TOKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_token_file(path)
    token = secrets.token_urlsafe(32)  # 256 bits
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


def _read_token_file(path: Path) -> str:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            f"the token file is readable by other users (mode {mode:o}); run: chmod 600 {path}",
            path=str(path),
        )
    text = path.read_text(encoding="utf-8").strip()
    if len(text) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            "the token file holds no usable token; delete it to get a new one", path=str(path)
        )
    return text


def host_name(header: str) -> str:
    """The host of a ``Host`` header value, without the port (``[::1]:80`` gives ``::1``)."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        return header[1:end] if end > 0 else header
    if header.count(":") == 1:
        return header.split(":", 1)[0]
    return header


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class SecurityMiddleware:
    """Host check, body limit, authentication, CSRF and security headers, in that order."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        credentials: Credentials,
        allowed_hosts: Iterable[str],
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.credentials = credentials
        self.allowed_hosts = frozenset(host_name(h) for h in allowed_hosts)
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # none is served: refuse before anything else
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":  # lifespan
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        host = _header(scope, b"host")
        if host is None or host_name(host) not in self.allowed_hosts:
            await _error(send, 400, "invalid Host header")
            return
        refusal = self._authenticate(scope)
        if refusal is not None:
            status, message = refusal
            if status == 401 and _wants_html(scope):
                await _login_hint(send)
            else:
                await _error(send, status, message)
            return
        length = _header(scope, b"content-length")
        too_large = f"the request body is larger than {self.max_body} bytes"
        if length is not None and (not length.strip().isdigit() or int(length) > self.max_body):
            await _error(send, 413, too_large)
            return
        if length is None and scope["method"] in UNSAFE_METHODS:
            # A chunked body is read here, up to the limit, and replayed to the app.
            messages = await _read_body(receive, self.max_body)
            if messages is None:
                await _error(send, 413, too_large)
                return
            receive = _replay(messages, receive)
        if scope["method"] == "GET" and _query_token(scope) is not None:
            await self._login_redirect(scope, send)
            return
        await self.app(scope, receive, send)

    def _authenticate(self, scope: Scope) -> tuple[int, str] | None:
        """None when the request may go on, else (status, message)."""
        auth = _header(scope, b"authorization")
        if auth is not None:
            scheme, _, value = auth.strip().partition(" ")
            if scheme.lower() in ("token", "bearer") and self.credentials.token_matches(
                value.strip()
            ):
                return None
            return 401, "invalid token"
        query = _query_token(scope)
        if query is not None and scope["method"] == "GET":
            return None if self.credentials.token_matches(query) else (401, "invalid token")
        cookie = _cookie(scope)
        if cookie is None or not self.credentials.cookie_matches(cookie):
            return 401, "authentication required: send 'Authorization: Token <token>'"
        if scope["method"] in UNSAFE_METHODS:
            return self._check_csrf(scope)
        return None

    def _check_csrf(self, scope: Scope) -> tuple[int, str] | None:
        origin = _header(scope, b"origin")
        host = _header(scope, b"host") or ""
        if origin is None or urlsplit(origin).netloc.lower() != host.strip().lower():
            return 403, "cross-origin request refused (the Origin header must be this server)"
        csrf = _header(scope, CSRF_HEADER.encode())
        if csrf is None or not self.credentials.csrf_matches(csrf):
            return 403, f"missing or wrong {CSRF_HEADER} header"
        return None

    async def _login_redirect(self, scope: Scope, send: Send) -> None:
        """Trade the one-time URL token for the cookie, and drop it from the address bar."""
        pairs = [
            (k, v)
            for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
            if k != "token"
        ]
        location = scope.get("path", "/") + (f"?{urlencode(pairs)}" if pairs else "")
        cookie = f"{COOKIE_NAME}={self.credentials.cookie_value}; Path=/; HttpOnly; SameSite=Strict"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("latin-1", "replace")),
                    (b"set-cookie", cookie.encode()),
                    (b"cache-control", b"no-store"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


async def _read_body(receive: Receive, limit: int) -> list[Message] | None:
    """Every message of the request body, or None as soon as it passes ``limit`` bytes."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _query_token(scope: Scope) -> str | None:
    raw: bytes = scope.get("query_string", b"")
    for key, value in parse_qsl(raw.decode("latin-1")):
        if key == "token":
            return value
    return None


def _cookie(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header is no cookie
        return None
    morsel = jar.get(COOKIE_NAME)
    return str(morsel.value) if morsel is not None else None


def _wants_html(scope: Scope) -> bool:
    accept = _header(scope, b"accept") or ""
    return scope["method"] == "GET" and "text/html" in accept


def _with_headers(send: Send) -> Send:
    """Add the security headers to every response this request sends."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {key.lower() for key, _ in message.get("headers", [])}
            headers = list(message.get("headers", []))
            headers.extend(item for item in SECURITY_HEADERS if item[0] not in present)
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


async def _error(send: Send, status: int, message: str) -> None:
    body = json.dumps({"detail": message, "errors": [{"field": None, "message": message}]})
    await _respond(send, status, body.encode(), b"application/json")


async def _login_hint(send: Send) -> None:
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>hyperstep: sign in"
        "</title></head><body><h1>hyperstep</h1><p>Open the address that <code>hyperstep "
        "serve</code> printed when it started (it ends in <code>?token=…</code>). The token "
        "is also in <code>.hyperstep/token</code> in the project folder.</p></body></html>"
    )
    await _respond(send, 401, page.encode(), b"text/html; charset=utf-8")


async def _respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers: list[Any] = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b"Token"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
