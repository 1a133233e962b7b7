"""Start the server: check where it may listen, resume the unfinished tasks, print the URL.

Binding anything but a loopback address needs a token configured in ``HYPERSTEP_TOKEN``: a
generated token sits in a file only the owner can read, but whoever reaches a public port
could otherwise try to guess its way in before anyone configured anything.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import psutil

from hyperstep.api import Credentials, ServerState
from hyperstep.api.security import LOOPBACK_HOSTS, TOKEN_ENV, configured_token, load_or_create_token
from hyperstep.errors import ConfigError
from hyperstep.server.app import create_app
from hyperstep.server.host import EngineHost
from hyperstep.service import Context

log = logging.getLogger("hyperstep.server")


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    allow_hosts: list[str] = field(default_factory=list)
    scan_interval: float = 5.0
    poll_interval: float = 0.1


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    return host in ("0.0.0.0", "::", "")  # noqa: S104  # nosec B104 - a check, not a bind


def resolve_token(ctx: Context, host: str) -> str:
    """The configured token, or (on loopback only) the generated one in the project."""
    token = configured_token()
    if token is not None:
        return token
    if not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host}: anyone who can reach it could run commands on this "
            f"machine. Set a token first ({TOKEN_ENV}=…, at least 16 characters), or keep the "
            "default --host 127.0.0.1"
        )
    return load_or_create_token(ctx.project.root)


def allowed_hosts(host: str, extra: Iterable[str]) -> set[str]:
    """The names a request's ``Host`` header may carry (DNS rebinding protection)."""
    names = set(LOOPBACK_HOSTS) | {host} | {h.strip().lower() for h in extra if h.strip()}
    if is_wildcard(host):
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        for addresses in psutil.net_if_addrs().values():
            for address in addresses:
                if address.family in (socket.AF_INET, socket.AF_INET6):
                    names.add(address.address.split("%")[0].lower())
    names.discard("")
    return names


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free port); ConfigError when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_host(host: str) -> str:
    if is_wildcard(host):
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


def serve(ctx: Context, options: ServeOptions, echo: Callable[[str], None] | None = None) -> None:
    """Run the server until SIGINT/SIGTERM; unfinished tasks go on at the next start."""
    import uvicorn

    say = echo or (lambda text: print(text, flush=True))
    token = resolve_token(ctx, options.host)
    sock = bind(options.host, options.port)
    port = sock.getsockname()[1]
    engine = EngineHost(
        ctx, scan_interval=options.scan_interval, poll_interval=options.poll_interval
    )
    state = ServerState(ctx=ctx, engine=engine, credentials=Credentials(token))
    app = create_app(
        state,
        allowed_hosts=allowed_hosts(options.host, options.allow_hosts),
        on_shutdown=[
            engine.close,
            lambda: say("Stopped. Unfinished tasks go on at the next 'hyperstep serve'."),
        ],
    )
    _setup_logging()
    try:
        for task in engine.start():
            say(f"Resuming task !{task.counter} ({task.status.value}).")
        say(f"hyperstep is serving {ctx.project.root} at http://{url_host(options.host)}:{port}/")
        say(f"Open: http://{url_host(options.host)}:{port}/?token={token}")
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,  # request lines would carry the one-time ?token=
            lifespan="on",
            timeout_graceful_shutdown=3,
            server_header=False,
        )
        # uvicorn handles Ctrl-C and SIGTERM (the lifespan shutdown detaches the engine), then
        # raises the signal again: SIGTERM ends the process there, Ctrl-C arrives here.
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        engine.close()
        sock.close()


def _setup_logging() -> None:
    logger = logging.getLogger("hyperstep")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
