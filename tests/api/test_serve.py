"""``hyperstep serve`` as a real process: the URL it prints, where it listens, and kill -9.

The restart test is the server's crash promise: a task driven by the server goes on after the
server is killed with SIGKILL and started again, and ends with exactly its executions.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from tests.api.support import PROJECT, bayes_payload
from tests.helpers import PYTHON, clean_env
from tests.invariants import check_task, wait_no_processes


class Serving:
    def __init__(self, proc: subprocess.Popen[str], url: str, token: str, lines: list[str]):
        self.proc = proc
        self.url = url
        self.token = token
        self.lines = lines

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def start_serve(root: Path, *args: str, env: dict[str, str] | None = None) -> Serving:
    proc = subprocess.Popen(
        [PYTHON, "-m", "hyperstep", "serve", "--port", "0", *args],
        cwd=root,
        env=clean_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"Open: (http://[^/]+)/\?token=(\S+)", line)
        if found:
            return Serving(proc, found.group(1), found.group(2), lines)
    proc.kill()
    raise AssertionError("hyperstep serve printed no URL:\n" + "".join(lines))


@contextmanager
def serving(root: Path, *args: str) -> Iterator[Serving]:
    server = start_serve(root, *args)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.proc.send_signal(signal.SIGTERM)
            try:
                server.proc.wait(20)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait(10)


def test_serve_prints_a_login_url_and_listens_on_loopback_only(
    make_project: Callable[..., Path],
) -> None:
    root = make_project(PROJECT)
    with serving(root) as server:
        assert server.url.startswith("http://127.0.0.1:")
        token_file = root / ".hyperstep" / "token"
        assert token_file.read_text().strip() == server.token
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        listening = [
            c.laddr
            for c in psutil.Process(server.proc.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert listening and all(addr.ip == "127.0.0.1" for addr in listening)
        steps = server.call("GET", "/api/v0/steps/")
        assert steps["count"] == 3
        refused = urllib.request.Request(server.url + "/api/v0/steps/")
        try:
            urllib.request.urlopen(refused, timeout=10)
            raise AssertionError("no token, yet answered")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
    output = "".join(server.lines) + (server.proc.stdout.read() if server.proc.stdout else "")
    assert output.count(server.token) == 1  # printed once, in the URL, never logged


def test_serve_refuses_a_public_address_without_a_configured_token(
    make_project: Callable[..., Path],
) -> None:
    root = make_project(PROJECT)
    proc = subprocess.run(
        [PYTHON, "-m", "hyperstep", "serve", "--host", "0.0.0.0", "--port", "0"],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "HYPERSTEP_TOKEN" in proc.stderr and "refusing to listen on 0.0.0.0" in proc.stderr
    assert not (root / ".hyperstep" / "token").exists()


def test_a_task_survives_kill_9_of_the_server_and_ends_with_exactly_its_executions(
    make_project: Callable[..., Path],
) -> None:
    root = make_project(PROJECT)
    count = 24
    first = start_serve(root)
    try:
        created = first.call("POST", "/api/v0/tasks/", bayes_payload(count=count, step="paced"))
        deadline = time.monotonic() + 90
        while True:
            task = first.call("GET", f"/api/v0/tasks/{created['id']}/")
            if task["status_summary"]["complete_count"] >= 6:
                break
            assert time.monotonic() < deadline, task
            time.sleep(0.2)
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
    assert task["status"] == "started"

    with serving(root) as second:
        assert any(f"Resuming task !{created['counter']}" in line for line in second.lines)
        deadline = time.monotonic() + 120
        while True:
            task = second.call("GET", f"/api/v0/tasks/{created['id']}/")
            if task["status"] in ("complete", "error", "stopped"):
                break
            assert time.monotonic() < deadline, task
            time.sleep(0.3)
    assert task["status"] == "complete", task
    assert task["status_summary"]["count"] == count
    assert task["status_summary"]["complete_count"] == count
    summary = check_task(root, created["counter"], expected=count, metric="objective")
    assert summary.statuses == ["complete"] * count
    assert not wait_no_processes(root)
