"""Dashboard and API response times on a task of 5,000 executions.

The store is filled directly through the Store API (a Bayesian task, 5,000 complete executions,
three metadata events each: no process runs), then a real server (uvicorn on loopback, the
same app ``hyperstep serve`` runs, engine idle) is measured with an HTTP client:

* the task page (``/tasks/1``, HTML),
* the executions API, one page of 50 (by counter, and sorted by a metric),
* the plot-data endpoint (``/api/v0/tasks/{id}/plots/``: every plot's arrays + importance),
* the Tasks tab.

The first request of each kind is reported apart (cold: it reads the 5,000 executions and
fits the importance forest); p50/p95 are over the following ``--repeat`` requests.

Usage::

    python benchmarks/dashboard.py                 # 5,000 executions, 40 requests each
    python benchmarks/dashboard.py --executions 1000 --repeat 20 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from hyperstep.api import Credentials, ServerState
from hyperstep.api.taskdata import TaskData
from hyperstep.engine.task import EXEC_DIR_TEMPLATE
from hyperstep.model import ExecutionStatus as S
from hyperstep.model import TaskStatus
from hyperstep.server.app import create_app
from hyperstep.server.host import EngineHost
from hyperstep.service import open_context
from hyperstep.store import Store
from hyperstep.taskspec import TaskSpec

TOKEN = "benchmark-token-0123456789abcdef"

PROJECT = """\
- step:
    name: train
    image: python:3.11
    command: python train.py {parameters}
    parameters:
      - name: learning_rate
        type: float
        default: 0.01
      - name: hidden_units
        type: integer
        default: 64
      - name: activation
        type: string
        default: relu
      - name: dropout
        type: float
        default: 0.1
"""

SPEC = {
    "name": "dashboard-benchmark",
    "step": "train",
    "type": "bayesian_tpe",
    "parameters": {
        "learning_rate": {
            "style": "random",
            "rules": {"distribution": "loguniform", "min": -5, "max": -1},
        },
        "hidden_units": {
            "style": "random",
            "rules": {"distribution": "integer", "min": 16, "max": 512, "step": 16},
        },
        "activation": {"style": "multiple", "rules": {"items": ["relu", "tanh", "logistic"]}},
        "dropout": {"style": "random", "rules": {"distribution": "uniform", "min": 0, "max": 0.5}},
    },
    "execution_count": 5000,
    "execution_batch_size": 10,
    "optimization_target_metric": "val_accuracy",
    "optimization_target_value": 1.0,
}


def fill(root: Path, n: int, seed: int = 0) -> str:
    """A finished Bayesian task of ``n`` executions, written through the Store API."""
    (root / "valohai.yaml").write_text(PROJECT, encoding="utf-8")
    spec = TaskSpec.from_json({**SPEC, "execution_count": n})
    url = f"sqlite:///{root / '.hyperstep' / 'hyperstep.db'}?synchronous=normal"
    (root / ".hyperstep").mkdir(exist_ok=True)
    rng = random.Random(seed)
    with Store.open(url, root) as store:
        task = store.create_task(
            name=spec.name, step=spec.step, type=spec.type, spec=spec.to_json(), seed=seed
        )
        items = []
        for index in range(n):
            params = {
                "learning_rate": 10 ** rng.uniform(-5, -1),
                "hidden_units": 16 * rng.randint(1, 32),
                "activation": rng.choice(["relu", "tanh", "logistic"]),
                "dropout": rng.uniform(0, 0.5),
            }
            items.append((index, params, "python train.py"))
        records = store.create_task_executions(task.id, items, EXEC_DIR_TEMPLATE)
        for record in records:
            lr = math.log10(record.parameters["learning_rate"])
            quality = 0.97 - 0.02 * (lr + 2.5) ** 2 - 0.1 * record.parameters["dropout"]
            store.transition(record.id, [S.CREATED], S.QUEUED)
            store.transition(record.id, [S.QUEUED], S.STARTED)
            now = time.time()
            events = [
                (
                    now,
                    {
                        "epoch": e,
                        "loss": 1.0 / (e + 1) + rng.random() * 0.1,
                        "val_accuracy": quality - 0.05 * (2 - e) + rng.gauss(0, 0.005),
                    },
                )
                for e in range(3)
            ]
            store.append_output(
                record.id,
                logs=[("stdout", now, "training")],
                events=events,
                stdout_offset=100,
                stderr_offset=0,
            )
            store.transition(record.id, [S.STARTED], S.COMPLETE, exit_code=0)
        store.transition_task(task.id, [TaskStatus.CREATED], TaskStatus.STARTED)
        store.transition_task(task.id, [TaskStatus.STARTED], TaskStatus.COMPLETE)
        return task.id


def serve(root: Path) -> tuple[uvicorn.Server, str, ServerState]:
    ctx = open_context(root)
    engine = EngineHost(ctx)  # not started: nothing to drive, the task is finished
    state = ServerState(ctx=ctx, engine=engine, credentials=Credentials(TOKEN))
    app = create_app(state, allowed_hosts=["127.0.0.1"])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", state


def measure(client: httpx.Client, path: str, repeat: int, before: Any = None) -> dict[str, Any]:
    """Cold first request, then p50/p95; ``before`` runs before each timed request."""
    started = time.perf_counter()
    first = client.get(path)
    cold = time.perf_counter() - started
    first.raise_for_status()
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
    times.sort()
    return {
        "path": path,
        "cold_ms": cold * 1000,
        "p50_ms": statistics.median(times) * 1000,
        "p95_ms": times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)] * 1000,
        "bytes": len(first.content),
    }


def browser_timing(chromium: str, base: str, repeat: int = 5) -> dict[str, Any]:
    """Seconds from navigation to the last plot drawn, in headless Chromium (Playwright)."""
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/?token={TOKEN}")
        for _ in range(repeat + 1):
            started = time.perf_counter()
            page.goto(f"{base}/tasks/1")
            last_slice = page.locator("#plot-slices .slice").last
            last_slice.locator(".scatterlayer .point").last.wait_for(timeout=300_000)
            times.append(time.perf_counter() - started)
        browser.close()
    cold, warm = times[0], sorted(times[1:])
    return {
        "what": "task page in headless Chromium until every plot is drawn",
        "path": "/tasks/1",
        "cold_ms": cold * 1000,
        "p50_ms": statistics.median(warm) * 1000,
        "p95_ms": warm[-1] * 1000,
        "bytes": 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "--browser",
        default=None,
        metavar="CHROMIUM",
        help="also time the task page in this headless Chromium until every plot is drawn",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        task_id = fill(root, args.executions)
        print(
            f"filled {args.executions} executions in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        server, base, state = serve(root)

        def forget() -> None:  # what a change of the task does to the cache
            state.data = TaskData(state.ctx)

        try:
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Token {TOKEN}"}, timeout=120
            ) as client:
                page = f"/api/v0/executions/?task={task_id}&limit=50&offset={args.executions // 2}"
                rows = [
                    ("plot data (all plots + importance)", f"/api/v0/tasks/{task_id}/plots/"),
                    ("task page (HTML)", "/tasks/1"),
                    ("executions API, page of 50 by counter", page),
                    (
                        "executions API, page of 50 sorted by a metric",
                        page + "&ordering=-metadata.val_accuracy",
                    ),
                    ("task object (API)", f"/api/v0/tasks/{task_id}/"),
                    ("Tasks tab (HTML)", "/tasks/"),
                ]
                results = []
                for label, path in rows:
                    result = measure(client, path, args.repeat)
                    result["what"] = label
                    results.append(result)
                if args.browser:
                    results.append(browser_timing(args.browser, base))
                for label, path in (
                    (
                        "plot data, recomputed (as after each change of a running task)",
                        f"/api/v0/tasks/{task_id}/plots/",
                    ),
                    ("task page, recomputed", "/tasks/1"),
                ):
                    result = measure(client, path, max(5, args.repeat // 4), before=forget)
                    result["what"] = label
                    results.append(result)
        finally:
            server.should_exit = True
            time.sleep(0.5)
            state.ctx.close()

    print(f"\n{args.executions} executions, {args.repeat} requests each (after a cold one)\n")
    print("| request | cold (first) | p50 | p95 | response size |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in results:
        size = f"{r['bytes'] / 1024:.0f} KiB" if r["bytes"] else "–"
        print(
            f"| {r['what']} | {r['cold_ms']:.0f} ms | {r['p50_ms']:.1f} ms | "
            f"{r['p95_ms']:.1f} ms | {size} |"
        )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {"executions": args.executions, "repeat": args.repeat, "results": results}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
