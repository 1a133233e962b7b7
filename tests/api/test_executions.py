"""``/api/v0/executions/``: run one, list (paged, ordered, filtered), logs, metadata, stop."""

from __future__ import annotations

from typing import Any

import pytest
from tests.api.support import Server, grid_payload


def test_one_execution_runs_and_its_logs_and_metadata_are_served(server: Server) -> None:
    response = server.client.post(
        "/api/v0/executions/", json={"step": "obj", "parameters": {"x": 3, "opt": "sgd"}}
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "created"
    assert created["parameters"] == {"x": 3.0, "y": 5.0, "opt": "sgd"}
    assert "--x=3" in created["command"] and "--opt=sgd" in created["command"]
    done = server.wait_execution(created["id"])
    assert done["status"] == "complete" and done["exit_code"] == 0
    assert done["cumulative_metadata"]["epoch"] == 2
    assert (
        server.client.get(f"/api/v0/executions/{created['counter']}/").json()["id"] == created["id"]
    )

    logs = server.client.get(f"/api/v0/executions/{created['id']}/events/").json()
    assert logs["total"] == 2 and logs["truncated"] is False
    assert [e["seq"] for e in logs["events"]] == [1, 2]
    assert all(e["stream"] == "stdout" for e in logs["events"])
    assert '"epoch": 2' in logs["events"][1]["message"]
    tail = server.client.get(f"/api/v0/executions/{created['id']}/events/?tail=1").json()
    assert [e["seq"] for e in tail["events"]] == [2]
    after = server.client.get(f"/api/v0/executions/{created['id']}/events/?after=2").json()
    assert after["events"] == []
    stderr = server.client.get(f"/api/v0/executions/{created['id']}/events/?stream=stderr").json()
    assert stderr["events"] == []
    limited = server.client.get(f"/api/v0/executions/{created['id']}/events/?limit=1").json()
    assert len(limited["events"]) == 1 and limited["truncated"] is True

    meta = server.client.get(f"/api/v0/executions/{created['id']}/metadata/").json()
    assert meta["total"] == 2
    assert meta["keys"] == ["_time", "epoch", "objective"]
    assert [e["data"]["epoch"] for e in meta["events"]] == [1, 2]
    assert meta["events"][0]["data"]["_time"].endswith("Z")
    later = server.client.get(f"/api/v0/executions/{created['id']}/metadata/?after=1").json()
    assert [e["seq"] for e in later["events"]] == [2]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"step": "nope"}, "step"),
        ({"step": "obj", "command": "id"}, "command"),
        ({"step": "obj", "parameters": {"x": 1000}}, "x"),
        ({"step": "obj", "parameters": {"opt": "adagrad"}}, "opt"),
        ({"step": "obj", "parameters": {"opt": "a\u0000b"}}, "opt"),
        ({"step": "obj", "parameters": {"x": "lots"}}, "x"),
        ({"step": "obj", "parameters": {"unknown": 1}}, "unknown"),
        ({"step": "obj", "parameters": {"x": {"nested": 1}}}, "parameters.x"),
        ({"step": "obj", "inputs": {"a": ["http://example.com/"]}}, "inputs"),
        ({"parameters": {}}, "step"),
    ],
)
def test_an_invalid_execution_is_refused_and_nothing_runs(
    server: Server, payload: dict[str, Any], field: str
) -> None:
    response = server.client.post("/api/v0/executions/", json=payload)
    assert response.status_code == 422, response.text
    body = response.json()
    assert field in body["detail"], body
    assert server.ctx.store.count_executions() == 0


def test_listing_orders_filters_and_pages(server: Server) -> None:
    task = server.client.post("/api/v0/tasks/", json=grid_payload()).json()
    server.wait_task(task["id"])
    base = f"/api/v0/executions/?task={task['id']}"
    newest = server.client.get(base).json()
    assert newest["count"] == 9
    assert [e["counter"] for e in newest["results"]] == list(range(9, 0, -1))
    oldest = server.client.get(base + "&ordering=counter&limit=4&offset=4").json()
    assert [e["counter"] for e in oldest["results"]] == [5, 6, 7, 8]
    assert "offset=8" in oldest["next"] and "offset=0" in oldest["previous"]

    by_metric = server.client.get(base + "&ordering=metadata.objective").json()["results"]
    values = [e["cumulative_metadata"]["objective"] for e in by_metric]
    assert values == sorted(values)
    by_param = server.client.get(base + "&ordering=-parameters.x&limit=3").json()["results"]
    assert [e["parameters"]["x"] for e in by_param] == [2, 2, 2]
    by_task_counter = server.client.get("/api/v0/executions/?task=1&status=complete").json()
    assert by_task_counter["count"] == 9
    none_running = server.client.get(base + "&status=incomplete").json()
    assert none_running["count"] == 0 and none_running["results"] == []
    missing_key = server.client.get(base + "&ordering=-metadata.nothing").json()
    assert missing_key["count"] == 9  # executions without the key sort last

    assert server.client.get(base + "&ordering=shoe_size").status_code == 422
    assert server.client.get(base + "&status=happy").status_code == 422
    assert server.client.get("/api/v0/executions/?ordering=duration").status_code == 422
    assert server.client.get("/api/v0/executions/?task=77").status_code == 404
    assert server.client.get(base + "&limit=100000").status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/api/v0/executions/404/",
        "/api/v0/executions/nope/",
        "/api/v0/executions/404/events/",
        "/api/v0/executions/404/metadata/",
        "/api/v0/executions/99999999999999999999/",
    ],
)
def test_unknown_executions_are_404(server: Server, path: str) -> None:
    response = server.client.get(path)
    assert response.status_code == 404
    assert server.client.post("/api/v0/executions/404/stop/").status_code == 404


def test_a_running_execution_stops_on_request(server: Server) -> None:
    created = server.client.post("/api/v0/executions/", json={"step": "slow"}).json()
    # Once it has printed, its program certainly runs (a stop in the first instant after
    # "started" can reach the runner before its command starts; that race is the engine's).
    server.wait_execution(created["id"], until=lambda e: e["cumulative_metadata"])
    stopped = server.client.post(f"/api/v0/executions/{created['id']}/stop/")
    assert stopped.status_code == 200
    assert stopped.json()["status"] in ("stopping", "stopped")
    final = server.wait_execution(created["id"])
    assert final["status"] == "stopped", (stopped.json(), final)
    again = server.client.post(f"/api/v0/executions/{created['id']}/stop/")
    assert again.status_code == 409
    assert "already ended" in again.json()["detail"]
