"""``/api/v0/stream/``: server-sent events of task and execution changes."""

from __future__ import annotations

import json
from typing import Any

from tests.api.support import Server, grid_payload

from hyperstep.api.changes import ChangeFeed


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.split("\n\n"):
        lines = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if ": " in line and not line.startswith(":")
        )
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_the_stream_reports_a_task_and_its_executions_as_they_change(server: Server) -> None:
    task = server.client.post("/api/v0/tasks/", json=grid_payload()).json()
    text = ""
    with server.client.stream("GET", f"/api/v0/stream/?task={task['id']}&timeout=60") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for chunk in response.iter_text():
            text += chunk
            seen = _events(text)
            ended = {
                d["counter"] for n, d in seen if n == "execution" and d["status"] == "complete"
            }
            if len(ended) == 9 and any(n == "task" and d["status"] == "complete" for n, d in seen):
                break
    events = _events(text)
    tasks = [data for name, data in events if name == "task"]
    executions = [data for name, data in events if name == "execution"]
    assert tasks and all(t["id"] == task["id"] for t in tasks)
    assert tasks[-1]["status"] == "complete"
    assert tasks[-1]["progress"] == {"done": 9, "total": 9, "running": 0, "failed": 0}
    finished = {e["counter"] for e in executions if e["status"] == "complete"}
    assert finished == set(range(1, 10))
    assert all(e["task"] == task["id"] for e in executions)


def test_the_stream_of_one_execution_carries_its_metadata(server: Server) -> None:
    created = server.client.post("/api/v0/executions/", json={"step": "obj"}).json()
    server.wait_execution(created["id"])
    with server.client.stream(
        "GET", f"/api/v0/stream/?execution={created['counter']}&timeout=1"
    ) as response:
        text = "".join(response.iter_text())
    (name, data), *_ = _events(text)
    assert name == "execution"
    assert data["status"] == "complete" and data["n_events"] == 2
    assert data["cumulative_metadata"]["epoch"] == 2


def test_the_stream_refuses_unknown_objects(server: Server) -> None:
    assert server.client.get("/api/v0/stream/?task=42").status_code == 404
    assert server.client.get("/api/v0/stream/?execution=nope").status_code == 404
    assert server.client.get("/api/v0/stream/?timeout=0").status_code == 422


def test_the_change_feed_reports_each_change_once(server: Server) -> None:
    feed = ChangeFeed(server.ctx)
    assert feed.poll() == []
    task = server.client.post("/api/v0/tasks/", json=grid_payload()).json()
    server.wait_task(task["id"])
    first = feed.poll()
    assert [d["counter"] for n, d in first if n == "task"] == [1]
    # All nine appeared and ended between two polls: none is missed.
    assert sorted(d["counter"] for n, d in first if n == "execution") == list(range(1, 10))
    assert feed.poll() == []
