"""Dask against local: the same task through ``cluster up --local 2`` and through 2 local slots.

    python benchmarks/throughput.py [--executions 200] [--seconds 0.5]
        [--out benchmarks/results/throughput.json] [--readme benchmarks/README.md]

A random-search task of N executions of a program that sleeps ``--seconds`` and prints one
metadata line runs twice through the real ``hyperstep task run`` command (engine start-up
included): once with the local executor and ``execution-batch-size: 2``, once on a local Dask
cluster of 2 workers with one slot each (``hyperstep cluster up --local 2``; its start-up is
not counted). The table of both wall times and their ratio is written to ``--out`` and, under
the heading "Dask throughput", to ``--readme`` (the section is replaced, the rest kept).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil

PYTHON = sys.executable
HEADING = "## Dask throughput"


def _project(root: Path, count: int, seconds: float) -> None:
    program = (
        f"python3 -c 'import json,sys,time; time.sleep({seconds}); "
        "print(json.dumps(dict(v=int(sys.argv[1]))))'"
    )
    (root / "valohai.yaml").write_text(
        textwrap.dedent(
            f"""\
            - step:
                name: sleeper
                image: python:3.11
                command: {program} {{parameter-value:i}}
                parameters:
                  - name: i
                    type: integer
                    default: 0
            - task:
                name: many
                step: sleeper
                type: random_search
                execution-count: {count}
                execution-batch-size: 2
                parameters:
                  - name: i
                    style: random
                    rules: {{distribution: integer, min: 0, max: 1000000000}}
            """
        ),
        encoding="utf-8",
    )


def _hyperstep(root: Path, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "hyperstep", "--project", str(root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _timed_task(root: Path, *extra: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    res = _hyperstep(root, "task", "run", "many", "--new", "--json", *extra)
    elapsed = time.perf_counter() - started
    if res.returncode != 0:
        raise SystemExit(f"task run failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return elapsed, json.loads(res.stdout)


def run(executions: int, seconds: float) -> dict[str, Any]:
    load_before = psutil.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="hyperstep-throughput-") as tmp:
        root = Path(tmp)
        _project(root, executions, seconds)
        local, local_task = _timed_task(root)
        up = _hyperstep(root, "cluster", "up", "--local", "2", "--json", timeout=180)
        if up.returncode != 0:
            raise SystemExit(f"cluster up failed:\n{up.stderr}")
        address = json.loads(up.stdout)["address"]
        try:
            dask, dask_task = _timed_task(root, "--scheduler", address)
        finally:
            _hyperstep(root, "cluster", "down", timeout=180)
    for task in (local_task, dask_task):
        if task["status_summary"].get("complete_count") != executions:
            raise SystemExit(f"not every execution completed: {task['status_summary']}")
    ideal = executions * seconds / 2
    return {
        "executions": executions,
        "program_seconds": seconds,
        "slots": 2,
        "ideal_seconds": ideal,
        "local_seconds": round(local, 2),
        "dask_seconds": round(dask, 2),
        "ratio": round(dask / local, 3),
        "machine": f"{platform.system()} {platform.machine()}, {psutil.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        # other work on the machine slows both runs down (and the one with more processes more)
        "load_average": [round(load_before, 1), round(psutil.getloadavg()[0], 1)],
        "date": time.strftime("%Y-%m-%d"),
    }


def table(result: dict[str, Any]) -> str:
    n, s = result["executions"], result["program_seconds"]
    return textwrap.dedent(
        f"""\
        {HEADING}

        `python benchmarks/throughput.py`: {n} executions of a {s:g} s program (`python3 -c`,
        sleep, one metadata line) as a random-search task with `execution-batch-size: 2`,
        timed around `hyperstep task run` (engine start-up included, cluster start-up not).
        Local: the local executor, 2 slots. Dask: `hyperstep cluster up --local 2` (a real
        `dask scheduler` and 2 `dask worker` processes on loopback, one slot each), every
        execution shipped to a worker, run there under the runner shim and its output pulled
        back while it runs. {result["machine"]}, {result["date"]}; load average
        {result["load_average"][0]:g} before, {result["load_average"][1]:g} after.

        | executor | wall time | per execution and slot | vs ideal ({result["ideal_seconds"]:g} s) |
        | --- | --- | --- | --- |
        | local, 2 slots | {result["local_seconds"]:.1f} s | {result["local_seconds"] / n * 2:.3f} s | {result["local_seconds"] / result["ideal_seconds"]:.2f}× |
        | dask, 2 workers × 1 slot | {result["dask_seconds"]:.1f} s | {result["dask_seconds"] / n * 2:.3f} s | {result["dask_seconds"] / result["ideal_seconds"]:.2f}× |

        Dask / local: **{result["ratio"]:.2f}×** (goal: at most 1.3×).
        """  # noqa: E501
    )


def update_readme(path: Path, section: str) -> None:
    """Replace this benchmark's section (up to the next ``## `` heading), or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=0.5)
    here = Path(__file__).resolve().parent
    parser.add_argument("--out", type=Path, default=here / "results" / "throughput.json")
    parser.add_argument("--readme", type=Path, default=here / "README.md")
    args = parser.parse_args()
    result = run(args.executions, args.seconds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    section = table(result)
    update_readme(args.readme, section)
    print(section)


if __name__ == "__main__":
    main()
