"""What a user does in the dashboard, in headless Chromium: the whole flow, and hostile output.

Screenshots of each stage go to ``test-artifacts/web/`` at the repository root. The pages run
under their real Content-Security-Policy (no eval), so the tests wait with locators only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from tests.api.support import TOKEN, Server, bayes_payload, running_server, slow_payload
from tests.helpers import ARTIFACTS

SHOTS = ARTIFACTS / "web"
TIMEOUT = 60_000  # ms

XSS_KEY = "<img src=x onerror=window.__xss=1>"
XSS_VALUE = "<script>window.__xss=2</script>"
XSS_PROJECT = """
- step:
    name: evil
    image: python:3.11
    command: >-
      {python} {programs}/objective.py {parameters}
      --metric-name "<img src=x onerror=window.__xss=1>"
    parameters:
      - name: x
        type: float
        default: 1.0
      - name: label
        type: string
        default: plain
"""


@pytest.fixture
def live(project: Path) -> Iterator[Server]:
    with running_server(project, live=True) as server:
        yield server


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
    page.on(
        "dialog",
        lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()),
    )
    try:
        yield page
    finally:
        context.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def fill_parameter(page: Any, name: str, distribution: str, **values: str) -> None:
    row = page.locator(f'tr[data-param="{name}"]')
    row.locator("select.dist").select_option(distribution)
    for field, value in values.items():
        row.locator(f".in-{field}").fill(value)


def test_create_watch_stop_a_bayesian_task_and_read_a_log(live: Server, page: Any) -> None:
    page.goto(f"{live.url}/?token={TOKEN}")
    assert page.url == f"{live.url}/tasks/"  # the token left the address bar
    page.get_by_role("link", name="Create task").first.click()
    page.wait_for_url("**/tasks/new")

    page.select_option("#f-step", "paced")
    page.check('input[name="type"][value="bayesian_tpe"]')
    page.fill("#f-count", "40")
    page.fill("#f-batch", "4")
    fill_parameter(page, "x", "uniform", min="10", max="-5")
    # Validation as you type: the bounds are the wrong way round, and the metric is missing.
    page.locator('tr[data-param="x"] .field-error').wait_for()
    page.locator('[data-field="configuration.optimization_target_metric"] .field-error').wait_for()
    assert page.locator("#create-task").is_disabled()
    fill_parameter(page, "x", "uniform", min="-5", max="10")
    fill_parameter(page, "y", "uniform", min="0", max="15", step="0.5")
    page.fill("#f-metric", "objective")
    page.get_by_text("Will run up to 40 executions.").wait_for()
    assert page.locator(".field-error.inline").count() == 0
    page.click("#show-yaml")
    yaml = page.locator("#yaml")
    assert "type: bayesian_tpe" in yaml.text_content()
    assert "distribution: uniform" in yaml.text_content()
    shot(page, "02-create-task-form")

    page.click("#create-task")
    page.wait_for_url("**/tasks/1")
    # Executions appear and finish while we watch, without a reload.
    page.locator("#executions-body .status-complete").nth(7).wait_for()
    page.locator("#plot-history .scatterlayer .point").nth(7).wait_for()
    page.locator("#plot-importance .bars path").nth(1).wait_for()
    assert page.locator("#plot-parallel .scatterlayer .trace").count() >= 3
    assert "best #" in page.locator("#plot-parallel .legend").text_content()
    assert page.locator("#plot-slices .slice").count() == 2
    shot(page, "03-task-running")

    page.click("#stop-task")
    page.locator("#task-status .status-stopped").wait_for(timeout=TIMEOUT)
    assert page.locator("#stop-task").is_hidden()
    running = "#executions-body :is(.status-started, .status-queued, .status-stopping)"
    expect(page.locator(running)).to_have_count(0, timeout=TIMEOUT)  # the table follows
    shot(page, "04-task-stopped")
    task = live.client.get("/api/v0/tasks/1/").json()
    assert task["status"] == "stopped"
    assert task["status_summary"]["count"] < 40

    # Sort by the metric: the best execution comes first.
    page.locator('th[data-key="metadata.objective"] button').click()
    page.locator('th[data-key="metadata.objective"][aria-sort="descending"]').wait_for()
    page.locator('th[data-key="metadata.objective"] button').click()
    page.locator('th[data-key="metadata.objective"][aria-sort="ascending"]').wait_for()
    # The table sorts every execution that logged the metric, a stopped one included: the
    # first row is the lowest latest value (the API's own ordering says which).
    lowest = live.client.get(
        "/api/v0/executions/?task=1&ordering=metadata.objective&limit=1"
    ).json()["results"][0]["counter"]
    expect(page.locator("#executions-body tr a").first).to_have_text(f"#{lowest}")
    page.locator("#executions-body tr a").first.click()
    page.wait_for_url(f"**/executions/{lowest}")
    page.locator("#log .line").first.wait_for()
    assert '"objective"' in page.locator("#log").text_content()
    page.locator("#metadata-chart .scatterlayer .trace").first.wait_for()
    shot(page, "05-execution")

    page.goto(f"{live.url}/tasks/")
    page.locator("#tasks-body .status-stopped").wait_for()
    assert page.problems == []


def test_a_finished_bayesian_task_page(live: Server, page: Any) -> None:
    created = live.client.post("/api/v0/tasks/", json=bayes_payload(count=30)).json()
    live.wait_task(created["id"])
    running = live.client.post("/api/v0/tasks/", json=slow_payload(count=10))
    assert running.status_code == 201
    page.goto(f"{live.url}/?token={TOKEN}")
    page.locator("#tasks-body .status-started").wait_for()
    shot(page, "01-tasks-tab")
    page.goto(f"{live.url}/tasks/{created['counter']}")
    page.locator("#plot-history .scatterlayer .point").nth(29).wait_for()
    page.locator("#plot-parallel .scatterlayer .trace").first.wait_for()
    page.wait_for_timeout(500)  # let Plotly finish drawing before the picture
    shot(page, "06-task-finished")
    assert "random start-up" in page.locator("#plot-history").text_content()
    assert page.problems == []


def test_hostile_program_output_shows_as_text_and_runs_nothing(
    make_project: Callable[..., Path], browser: Any, page: Any
) -> None:
    with running_server(make_project(XSS_PROJECT, name="evil"), live=True) as server:
        payload = {
            "step": "evil",
            "type": "grid_search",
            "parameters": {
                "x": {"style": "multiple", "rules": {"items": [0, 1, 2, 3]}},
                "label": {"style": "single", "rules": {"value": XSS_VALUE}},
            },
            "configuration": {"optimization_target_metric": XSS_KEY},
        }
        created = server.client.post("/api/v0/tasks/", json=payload).json()
        server.wait_task(created["id"])
        page.goto(f"{server.url}/?token={TOKEN}")
        for path in ("/tasks/", "/tasks/1", "/executions/1"):
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(300)
            assert page.evaluate("typeof window.__xss") == "undefined", path
            assert page.locator('img[src="x"]').count() == 0, path
            assert page.locator("script:not([src]):not([type])").count() == 0, path
        text = page.locator("body").text_content()
        assert XSS_VALUE in text  # the parameter, as text
        page.goto(server.url + "/tasks/1")
        page.locator("#plot-history .scatterlayer .point").nth(3).wait_for()
        assert XSS_KEY in page.locator("#executions-head").text_content()
        assert XSS_KEY in page.locator("#best").text_content()
        assert page.evaluate("typeof window.__xss") == "undefined"
        shot(page, "07-hostile-output")
    assert page.problems == []
