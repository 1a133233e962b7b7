"""A real hyperstep server for tests: the app, its engine host, a client, optionally uvicorn.

Everything is real: the project folder, the SQLite store, the engine threads and the processes
of the executions. ``Server.client`` talks to the ASGI app in-process (with the token);
``serve_live`` also runs uvicorn on a free loopback port for the browser and streaming tests.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi.testclient import TestClient

from hyperstep.api import Credentials, ServerState
from hyperstep.server.app import create_app
from hyperstep.server.host import EngineHost
from hyperstep.service import Context, open_context

TOKEN = "test-token-0123456789abcdefghij"
HOSTS = ["testserver", "127.0.0.1", "localhost"]

PROJECT = """
- step:
    name: obj
    image: python:3.11
    command: {python} {programs}/objective.py {parameters} --epochs 2
    parameters:
      - name: x
        type: float
        default: 0.0
        min: -10
        max: 20
      - name: y
        type: float
        default: 5.0
      - name: opt
        type: string
        default: adam
        choices: [adam, sgd, rmsprop]
- step:
    name: slow
    image: python:3.11
    command: {python} {programs}/objective.py {parameters} --epochs 40 --sleep 0.25
    parameters:
      - name: x
        type: float
        default: 1.0
- step:
    name: paced
    image: python:3.11
    command: {python} {programs}/objective.py {parameters} --epochs 2 --sleep 0.4
    parameters:
      - name: x
        type: float
        default: 0.0
      - name: y
        type: float
        default: 5.0
- task:
    name: grid6
    step: obj
    type: grid_search
    execution-batch-size: 3
    optimization-target-metric: objective
    parameters:
      - name: x
        style: multiple
        rules: {items: [0, 1, 2]}
      - name: opt
        style: multiple
        rules: {items: [adam, sgd]}
- task:
    name: broken
    step: obj
    type: bayesian_tpe
    execution-count: 10
    parameters:
      - name: x
        style: random
        rules: {distribution: uniform, min: -5, max: 5}
"""


def grid_payload(**extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "step": "obj",
        "type": "grid_search",
        "parameters": {
            "x": {"style": "multiple", "rules": {"items": [0, 1, 2]}},
            "y": {"style": "linear", "rules": {"start": 0, "end": 1, "step": 0.5}},
        },
        "configuration": {"execution_batch_size": 3, "optimization_target_metric": "objective"},
    }
    payload.update(extra)
    return payload


def bayes_payload(count: int = 24, step: str = "obj", **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "step": step,
        "type": "bayesian_tpe",
        "parameters": {
            "x": {"style": "random", "rules": {"distribution": "uniform", "min": -5, "max": 10}},
            "y": {"style": "random", "rules": {"distribution": "uniform", "min": 0, "max": 15}},
        },
        "configuration": {
            "execution_count": count,
            "execution_batch_size": 4,
            "optimization_target_metric": "objective",
        },
        "seed": 3,
    }
    payload.update(extra)
    return payload


def slow_payload(count: int = 30) -> dict[str, Any]:
    """A random search of the ``slow`` step: each execution runs for about ten seconds."""
    return {
        "step": "slow",
        "type": "random_search",
        "parameters": {
            "x": {"style": "random", "rules": {"distribution": "uniform", "min": 0, "max": 2}},
        },
        "configuration": {"execution_count": count, "execution_batch_size": 2},
    }


@dataclass
class Server:
    root: Path
    ctx: Context
    engine: EngineHost
    state: ServerState
    app: Any
    client: TestClient
    url: str | None = None

    def anonymous(self, **headers: str) -> TestClient:
        """A client without the token (and with the given headers)."""
        return TestClient(self.app, base_url="http://testserver", headers=headers)

    def wait_task(
        self, ident: str | int, *, timeout: float = 90.0, until: Any = None
    ) -> dict[str, Any]:
        """Poll GET /tasks/{ident}/ until it is final (or ``until(task)`` holds)."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.client.get(f"/api/v0/tasks/{ident}/").json()
            done = (
                until(task)
                if until is not None
                else task["status"] in ("complete", "error", "stopped")
            )
            if done:
                return task
            if time.monotonic() > deadline:
                raise AssertionError(f"task {ident} did not get there in {timeout} s: {task}")
            time.sleep(0.2)

    def wait_execution(
        self, ident: str | int, timeout: float = 60.0, until: Any = None
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            record = self.client.get(f"/api/v0/executions/{ident}/").json()
            done = (
                until(record)
                if until is not None
                else record["status"] in ("complete", "error", "crashed", "stopped")
            )
            if done:
                return record
            if time.monotonic() > deadline:
                raise AssertionError(f"execution {ident} did not end in {timeout} s: {record}")
            time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    root: Path, *, live: bool = False, stream_interval: float = 0.2
) -> Iterator[Server]:
    """The whole server on ``root``; with ``live``, uvicorn on a free port as well."""
    ctx = open_context(root)
    engine = EngineHost(ctx, scan_interval=0.5, poll_interval=0.05, stop_grace=3.0)
    state = ServerState(
        ctx=ctx,
        engine=engine,
        credentials=Credentials(TOKEN),
        stream_interval=stream_interval,
        stream_timeout=30.0,
    )
    app = create_app(state, allowed_hosts=HOSTS)
    engine.start()
    client = TestClient(
        app, base_url="http://testserver", headers={"Authorization": f"Token {TOKEN}"}
    )
    server = Server(root, ctx, engine, state, app, client)
    uvi: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    try:
        if live:
            port = free_port()
            uvi = uvicorn.Server(
                uvicorn.Config(
                    app,
                    host="127.0.0.1",
                    port=port,
                    log_level="warning",
                    access_log=False,
                    timeout_graceful_shutdown=3,
                )
            )
            thread = threading.Thread(target=uvi.run, daemon=True)
            thread.start()
            deadline = time.monotonic() + 15
            while not uvi.started:
                if time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start")
                time.sleep(0.05)
            server.url = f"http://127.0.0.1:{port}"
        yield server
    finally:
        if uvi is not None:
            uvi.should_exit = True
        engine.close(timeout=5)
        if thread is not None:
            thread.join(5)
        stop_everything(ctx)
        ctx.close()


def stop_everything(ctx: Context) -> None:
    """Leave no execution of the test running: stop what is still alive, by its runner."""
    from hyperstep.model import ExecutionStatus as S

    for record in ctx.store.list_executions(
        status=[S.CREATED, S.QUEUED, S.STARTED, S.STOPPING], limit=None
    ):
        if record.runner_ref:
            with contextlib.suppress(Exception):
                ctx.executor.stop(record.runner_ref, grace=0.5)
