"""``/api/v0/steps/`` and ``/api/v0/blueprints/``: what valohai.yaml offers."""

from __future__ import annotations

from tests.api.support import Server


def test_steps_are_listed_with_their_typed_parameters(server: Server) -> None:
    body = server.client.get("/api/v0/steps/").json()
    assert body["count"] == 3
    obj = next(s for s in body["results"] if s["name"] == "obj")
    assert obj["image"] == "python:3.11"
    assert "objective.py {parameters}" in obj["command"][0]
    params = {p["name"]: p for p in obj["parameters"]}
    assert list(params) == ["x", "y", "opt"]
    assert params["x"]["type"] == "float" and params["x"]["min"] == -10
    assert params["opt"]["choices"] == ["adam", "sgd", "rmsprop"]
    assert params["opt"]["default"] == "adam" and params["opt"]["required"] is False


def test_blueprints_come_as_payloads_that_start_them(server: Server) -> None:
    body = server.client.get("/api/v0/blueprints/").json()
    by_name = {b["name"]: b for b in body["results"]}
    grid = by_name["grid6"]
    assert grid["valid"] is True and grid["error"] is None
    assert grid["payload"]["type"] == "grid_search"
    assert grid["payload"]["parameters"]["opt"] == {
        "style": "multiple",
        "rules": {"items": ["adam", "sgd"]},
    }
    assert "name: grid6" in grid["yaml"]
    broken = by_name["broken"]  # a Bayesian blueprint without a target metric
    assert broken["valid"] is False
    assert "optimization-target-metric" in broken["error"]

    started = server.client.post("/api/v0/tasks/", json=grid["payload"])
    assert started.status_code == 201, started.text
    task = server.wait_task(started.json()["id"])
    assert task["status"] == "complete" and task["name"] == "grid6"
    assert task["progress"]["done"] == 6
    refused = server.client.post("/api/v0/tasks/", json=broken["payload"])
    assert refused.status_code == 422
