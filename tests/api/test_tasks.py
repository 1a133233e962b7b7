"""``/api/v0/tasks/``: create with Valohai's payload, validate, list, show, stop, plot, export."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from tests.api.support import Server, bayes_payload, grid_payload, slow_payload


def _count_tasks(server: Server) -> int:
    return server.ctx.store.count_tasks()


def test_a_grid_task_created_through_the_api_runs_to_completion(server: Server) -> None:
    response = server.client.post("/api/v0/tasks/", json=grid_payload(title="api grid"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["counter"] == 1
    assert created["name"] == "api grid"
    assert created["urls"]["display"] == "/tasks/1"
    assert created["progress"]["total"] == 9
    task = server.wait_task(created["id"])
    assert task["status"] == "complete"
    assert task["status_summary"]["complete_count"] == 9
    assert task["progress"] == {"done": 9, "total": 9, "running": 0, "failed": 0}
    runs = server.client.get(f"/api/v0/executions/?task={created['id']}").json()["results"]
    best = min(runs, key=lambda e: e["cumulative_metadata"]["objective"])
    assert task["best"]["counter"] == best["counter"]
    assert task["best"]["value"] == best["cumulative_metadata"]["objective"]
    assert task["columns"] == {"parameters": ["x", "y"], "metrics": ["epoch", "objective"]}
    by_counter = server.client.get("/api/v0/tasks/1/").json()
    assert by_counter["id"] == created["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"step": "nope"}, "step"),
        ({"command": "rm -rf ~"}, "command"),
        ({"type": "sorcery"}, "type"),
        (
            {"parameters": {"x": {"style": "linear", "rules": {"start": 0, "end": 1}}}},
            "parameters.x",
        ),
        ({"parameters": {"x": {"style": "multiple", "rules": {"items": [0, 99]}}}}, "parameters.x"),
        ({"parameters": {"zzz": {"style": "single", "rules": {"value": 1}}}}, "parameters.zzz"),
        (
            {"parameters": {"x": {"style": "random", "rules": {"distribution": "gaussian"}}}},
            "parameters.x.rules.distribution",
        ),
        (
            {"parameters": {"x": {"style": "single", "rules": {"value": 1, "shell": "x"}}}},
            "parameters.x.rules.shell",
        ),
        (
            {"parameters": {"opt": {"style": "single", "rules": {"value": "a\u0000b"}}}},
            "parameters.opt",
        ),
        ({"configuration": {"execution_count": 10**9}}, "configuration.execution_count"),
        ({"configuration": {"execution_batch_size": 0}}, "configuration.execution_batch_size"),
        ({"configuration": {"engine": "magic"}}, "configuration.engine"),
        ({"task_stop_expression": "objective >"}, "task_stop_expression"),
        ({"on_child_error": "explode"}, "on_child_error"),
        ({"inputs": {"data": ["http://example.com/x.csv"]}}, "inputs"),
        (
            {"configuration": {"environment_variables": {"A": "1"}}},
            "configuration.environment_variables",
        ),
    ],
)
def test_an_invalid_payload_is_refused_naming_the_field_and_creates_nothing(
    server: Server, change: dict[str, Any], field: str
) -> None:
    payload = grid_payload()
    for key, value in change.items():
        if key == "configuration":
            payload["configuration"] = {**payload["configuration"], **value}
        else:
            payload[key] = value
    response = server.client.post("/api/v0/tasks/", json=payload)
    assert response.status_code == 422, response.text
    body = response.json()
    fields = [e["field"] for e in body["errors"]]
    assert any(f is not None and f.startswith(field) for f in fields), body
    assert field in body["detail"] or body["detail"].startswith(fields[0])
    assert _count_tasks(server) == 0
    assert server.ctx.store.count_executions() == 0


def test_a_bayesian_task_without_a_metric_is_refused(server: Server) -> None:
    payload = bayes_payload()
    del payload["configuration"]["optimization_target_metric"]
    response = server.client.post("/api/v0/tasks/", json=payload)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "configuration.optimization_target_metric"
    assert _count_tasks(server) == 0


def test_nan_and_non_json_bodies_are_refused(server: Server) -> None:
    payload = grid_payload()
    text = (
        str(payload)
        .replace("'", '"')
        .replace('"objective"}', '"objective", "optimization_target_value": NaN}')
    )
    response = server.client.post(
        "/api/v0/tasks/", content=text, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "configuration.optimization_target_value"
    response = server.client.post(
        "/api/v0/tasks/", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert _count_tasks(server) == 0


def test_validate_reports_every_problem_and_the_preview(server: Server) -> None:
    good = server.client.post("/api/v0/tasks/validate/", json=grid_payload())
    assert good.status_code == 200
    body = good.json()
    assert body["valid"] is True
    assert body["errors"] == []
    assert body["count"] == 9
    assert "- task:" in body["blueprint"] and "style: linear" in body["blueprint"]
    assert set(body["parameters"]) >= {"x", "y", "opt"}

    bayes = server.client.post("/api/v0/tasks/validate/", json=bayes_payload(count=30)).json()
    assert bayes["valid"] is True and bayes["count"] == 30
    assert any("first 20" in note for note in bayes["notes"])

    bad = grid_payload()
    bad["parameters"]["x"] = {"style": "multiple", "rules": {"items": [0, 99]}}
    bad["parameters"]["nope"] = {"style": "single", "rules": {"value": 1}}
    bad["configuration"]["execution_batch_size"] = 0
    result = server.client.post("/api/v0/tasks/validate/", json=bad).json()
    assert result["valid"] is False
    fields = {e["field"] for e in result["errors"]}
    assert "configuration.execution_batch_size" in fields  # schema errors come first

    bad["configuration"]["execution_batch_size"] = 2
    result = server.client.post("/api/v0/tasks/validate/", json=bad).json()
    fields = {e["field"] for e in result["errors"]}
    assert {"parameters.x", "parameters.nope"} <= fields
    assert result["count"] is None and result["blueprint"] is None
    assert _count_tasks(server) == 0


def test_validate_of_a_body_that_is_not_an_object_is_422(server: Server) -> None:
    response = server.client.post("/api/v0/tasks/validate/", json=[1, 2])
    assert response.status_code == 422


def test_listing_filters_by_status_and_pages(server: Server) -> None:
    first = server.client.post("/api/v0/tasks/", json=grid_payload()).json()
    server.wait_task(first["id"])
    second = server.client.post("/api/v0/tasks/", json=slow_payload()).json()
    server.wait_task(second["id"], until=lambda t: t["status"] == "started")
    everything = server.client.get("/api/v0/tasks/").json()
    assert everything["count"] == 2
    assert [t["counter"] for t in everything["results"]] == [2, 1]
    started = server.client.get("/api/v0/tasks/?status=started,stopping").json()
    assert [t["counter"] for t in started["results"]] == [2]
    unfinished = server.client.get("/api/v0/tasks/?status=unfinished").json()
    assert [t["counter"] for t in unfinished["results"]] == [2]
    page = server.client.get("/api/v0/tasks/?limit=1&ordering=counter").json()
    assert [t["counter"] for t in page["results"]] == [1]
    assert page["next"] is not None and "offset=1" in page["next"]
    assert page["previous"] is None
    refused = server.client.get("/api/v0/tasks/?status=sleepy")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "status"
    assert server.client.get("/api/v0/tasks/?limit=0").status_code == 422
    stopped = server.client.post(f"/api/v0/tasks/{second['id']}/stop/")
    assert stopped.status_code == 200
    assert stopped.json()["status"] in ("stopping", "stopped")
    final = server.wait_task(second["id"])
    assert final["status"] == "stopped"
    again = server.client.post(f"/api/v0/tasks/{second['id']}/stop/")
    assert again.status_code == 409


@pytest.mark.parametrize(
    "path",
    [
        "/api/v0/tasks/999/",
        "/api/v0/tasks/no-such-id/",
        "/api/v0/tasks/999/plots/",
        "/api/v0/tasks/999/export/",
    ],
)
def test_unknown_tasks_are_404(server: Server, path: str) -> None:
    response = server.client.get(path)
    assert response.status_code == 404
    assert "not found" in response.json()["detail"]


def test_stopping_an_unknown_task_is_404(server: Server) -> None:
    assert server.client.post("/api/v0/tasks/42/stop/").status_code == 404


def test_plots_and_export_of_a_finished_task(server: Server) -> None:
    created = server.client.post("/api/v0/tasks/", json=grid_payload()).json()
    server.wait_task(created["id"])
    plots = server.client.get(f"/api/v0/tasks/{created['id']}/plots/").json()
    assert plots["metric"] == "objective"
    assert plots["n"] == 9 and len(plots["value"]) == 9 and len(plots["counter"]) == 9
    assert [p["name"] for p in plots["parameters"]] == ["x", "y"]
    assert plots["best_line"]["y"][-1] == min(plots["value"])
    assert plots["best_line"]["x"][-1] == 9
    assert plots["importance"] is not None
    assert abs(sum(i["importance"] for i in plots["importance"]) - 1) < 1e-3
    other = server.client.get(f"/api/v0/tasks/{created['id']}/plots/?metric=epoch").json()
    assert other["metric"] == "epoch" and set(other["value"]) == {2}

    exported = server.client.get(f"/api/v0/tasks/{created['id']}/export/?format=csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 9 and {r["status"] for r in rows} == {"complete"}
    as_json = server.client.get(f"/api/v0/tasks/{created['id']}/export/?format=json").json()
    assert len(as_json) == 9
    assert server.client.get(f"/api/v0/tasks/{created['id']}/export/?format=xml").status_code == 422


def test_a_bayesian_task_marks_its_random_startup(server: Server) -> None:
    created = server.client.post("/api/v0/tasks/", json=bayes_payload(count=24)).json()
    task = server.wait_task(created["id"])
    assert task["status"] == "complete"
    assert task["progress"]["done"] == 24
    plots = server.client.get(f"/api/v0/tasks/{created['id']}/plots/").json()
    assert plots["startup"] == 20
    assert sorted(plots["index"]) == list(range(24))


def test_plot_columns_follow_the_space_log_and_categorical(server: Server) -> None:
    payload = {
        "step": "obj",
        "type": "random_search",
        "parameters": {
            "x": {"style": "random", "rules": {"distribution": "loguniform", "min": -3, "max": 1}},
            "opt": {"style": "multiple", "rules": {"items": ["adam", "sgd", "rmsprop"]}},
        },
        "configuration": {"execution_count": 12, "execution_batch_size": 4,
                          "optimization_target_metric": "objective"},
        "direction": "maximize",
        "seed": 5,
    }
    created = server.client.post("/api/v0/tasks/", json=payload)
    assert created.status_code == 201, created.text
    server.wait_task(created.json()["id"])
    plots = server.client.get(f"/api/v0/tasks/{created.json()['id']}/plots/").json()
    columns = {c["name"]: c for c in plots["parameters"]}
    assert columns["x"]["scale"] == "log"
    assert all(1e-3 <= v <= 10 for v in columns["x"]["values"])
    assert columns["opt"]["scale"] == "categorical"
    assert set(columns["opt"]["categories"]) <= {"adam", "sgd", "rmsprop"}
    assert all(0 <= code < len(columns["opt"]["categories"]) for code in columns["opt"]["values"])
    assert plots["direction"] == "maximize" and plots["startup"] == 0
    line = plots["best_line"]
    assert line["y"] == sorted(line["y"]) and line["y"][-1] == max(plots["value"])
    assert line["x"] == sorted(line["x"]) and line["x"][-1] == 12
    assert {i["name"] for i in plots["importance"]} == {"x", "opt"}
