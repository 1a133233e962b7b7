"""The dashboard's pages as HTML: what they show, that program output is escaped, Plotly.js."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.api.support import Server, grid_payload, running_server

from hyperstep.web import plotly_js

XSS_KEY = "<img src=x onerror=alert(1)>"
XSS_VALUE = "<script>alert(2)</script>"

XSS_PROJECT = """
- step:
    name: evil
    image: python:3.11
    command: >-
      {python} {programs}/objective.py {parameters}
      --metric-name "<img src=x onerror=alert(1)>"
    parameters:
      - name: x
        type: float
        default: 1.0
      - name: label
        type: string
        default: plain
"""


@pytest.fixture
def evil(make_project: Callable[..., Path]) -> Iterator[Server]:
    with running_server(make_project(XSS_PROJECT, name="evil")) as server:
        yield server


def _page_data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    assert found, "no page data"
    return json.loads(found.group(1))


def test_the_tasks_tab_lists_tasks_with_progress_and_best(server: Server) -> None:
    empty = server.client.get("/tasks/")
    assert empty.status_code == 200
    assert "No tasks" in empty.text
    task = server.client.post("/api/v0/tasks/", json=grid_payload(title="grid one")).json()
    server.wait_task(task["id"])
    html = server.client.get("/tasks/").text
    assert 'href="/tasks/1"' in html and "grid one" in html
    assert "9 / 9" in html
    assert "objective = " in html
    assert "status-complete" in html
    filtered = server.client.get("/tasks/?status=stopped").text
    assert "grid one" not in filtered and "No tasks with status stopped" in filtered
    assert server.client.get("/tasks/?status=weird").status_code == 422
    assert server.client.get("/", follow_redirects=False).headers["location"] == "/tasks/"


def test_the_task_page_and_the_execution_page(server: Server) -> None:
    task = server.client.post("/api/v0/tasks/", json=grid_payload()).json()
    server.wait_task(task["id"])
    response = server.client.get("/tasks/1")
    assert response.status_code == 200
    html = response.text
    assert "Task !1" in html and "Optimization history" in html
    assert "Parallel coordinates" in html and "Parameter importance" in html
    assert 'src="/static/vendor/plotly.min.js"' in html
    assert "cdn" not in html.lower()
    assert "'unsafe-eval'" not in response.headers["content-security-policy"]
    data = _page_data(html)
    assert data["task"]["id"] == task["id"]
    assert data["task"]["columns"]["parameters"] == ["x", "y"]

    page = server.client.get("/executions/3")
    assert page.status_code == 200
    assert "Execution #3" in page.text and "objective.py" in page.text
    assert "'unsafe-eval'" not in page.headers["content-security-policy"]
    assert _page_data(page.text)["execution"]["counter"] == 3
    listing = server.client.get("/executions/").text
    assert 'href="/executions/9"' in listing

    assert server.client.get("/tasks/99").status_code == 404
    assert "There is no execution #99" in server.client.get("/executions/99").text


def test_the_create_task_page_offers_steps_and_blueprints(server: Server) -> None:
    html = server.client.get("/tasks/new").text
    assert '<option value="obj">obj</option>' in html
    assert "grid6" in html and "Show as YAML blueprint" in html
    data = _page_data(html)
    assert [s["name"] for s in data["steps"]] == ["obj", "slow", "paced"]
    assert {b["name"] for b in data["blueprints"]} == {"grid6", "broken"}
    assert 'name="csrf-token"' in html


def test_program_output_is_escaped_in_every_page(evil: Server) -> None:
    payload = {
        "step": "evil",
        "type": "grid_search",
        "parameters": {
            "x": {"style": "multiple", "rules": {"items": [0, 1, 2]}},
            "label": {"style": "single", "rules": {"value": XSS_VALUE}},
        },
        "configuration": {"optimization_target_metric": XSS_KEY},
        "title": XSS_VALUE,
    }
    created = evil.client.post("/api/v0/tasks/", json=payload)
    assert created.status_code == 201, created.text
    task = evil.wait_task(created.json()["id"])
    assert task["best"]["metric"] == XSS_KEY
    for path in ("/tasks/", "/tasks/1", "/executions/1", "/executions/"):
        html = evil.client.get(path).text
        assert "<img src=x" not in html, path
        assert "<script>alert" not in html, path
        escaped = ("&lt;img src=x onerror=alert(1)&gt;", "\\u003cimg", "&lt;script&gt;alert(2)")
        assert any(form in html for form in escaped), path
    html = evil.client.get("/tasks/1").text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html  # the title
    assert _page_data(html)["task"]["best"]["metric"] == XSS_KEY  # the JSON reads back intact


def test_plotly_is_served_from_the_installed_package(server: Server) -> None:
    bundle = plotly_js()
    assert bundle is not None
    response = server.client.get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == bundle.read_bytes()
    css = server.client.get("/static/css/app.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert server.client.get("/static/../../etc/passwd").status_code == 404


def test_pages_of_a_task_without_a_metric_and_of_a_fresh_one(server: Server) -> None:
    payload = grid_payload()
    del payload["configuration"]["optimization_target_metric"]
    plain = server.client.post("/api/v0/tasks/", json=payload).json()
    page = server.client.get(f"/tasks/{plain['counter']}")  # right away: nothing ran yet
    assert page.status_code == 200
    assert "No complete execution with a target metric yet" in page.text
    server.wait_task(plain["id"])
    assert server.client.get(f"/tasks/{plain['counter']}").status_code == 200
    plots = server.client.get(f"/api/v0/tasks/{plain['id']}/plots/").json()
    assert plots["metric"] == "objective"  # without a target: the first key not a counter
    manual = {
        "step": "obj",
        "type": "manual_search",
        "parameter_sets": [{"x": 1, "opt": "sgd"}, {"x": 2, "opt": "adam"}],
    }
    created = server.client.post("/api/v0/tasks/", json=manual)
    assert created.status_code == 201, created.text
    task = server.wait_task(created.json()["id"])
    assert task["progress"]["done"] == 2 and task["columns"]["parameters"] == ["x", "opt"]
    assert server.client.get(f"/tasks/{task['counter']}").status_code == 200
