"""The runner's own cost: hyperstep against ``xargs -P 2``, and the engine at 1,000 / 5,000 results.

    python benchmarks/overhead.py [--executions 1000] [--out benchmarks/results/overhead.json]

Part 1 runs N trivial executions (``python3 -c`` printing one JSON line) as a random-search
task with batch size 2 through the real ``hyperstep task run`` command, start-up included, and
the same N commands through ``xargs -P 2``, in one run. Part 2 fills a store with a Bayesian
task of 1,000 and 5,000 finished executions and measures (a) the time to propose a batch of 5
with each engine from that history and (b) the peak memory of a ``hyperstep task resume`` that
reads the whole task and runs its last batch.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import psutil

PYTHON = sys.executable
TRIVIAL = "python3 -c 'import json,sys; print(json.dumps(dict(v=int(sys.argv[1]))))'"


def _project(root: Path, count: int) -> None:
    (root / "valohai.yaml").write_text(
        textwrap.dedent(
            f"""\
            - step:
                name: trivial
                image: python:3.11
                command: {TRIVIAL} {{parameter-value:i}}
                parameters:
                  - name: i
                    type: integer
                    default: 0
            - task:
                name: many
                step: trivial
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


def _peak_rss(proc: subprocess.Popen[bytes], out: list[int]) -> None:
    peak = 0
    try:
        p = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                peak = max(peak, p.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.05)
    except psutil.NoSuchProcess:
        pass
    out.append(peak)


def _measured(args: list[str], cwd: Path) -> tuple[float, float | None]:
    """Run ``hyperstep ARGS`` in ``cwd``: its wall time (s) and peak RSS (MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [PYTHON, "-m", "hyperstep", *args, "--quiet"],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak: list[int] = []
    watcher = threading.Thread(target=_peak_rss, args=(proc, peak))
    watcher.start()
    _, err = proc.communicate()
    watcher.join()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"hyperstep {' '.join(args)} failed: {err.decode(errors='replace')}")
    return wall, (peak[0] / 2**20 if peak else None)


def run_hyperstep(count: int) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="hs-overhead-"))
    try:
        _project(root, count)
        wall, peak = _measured(["task", "run", "many"], root)
        return {"wall_s": wall, "engine_peak_rss_mb": peak}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_xargs(count: int) -> dict[str, Any]:
    numbers = "\n".join(str(i) for i in range(count)) + "\n"
    started = time.perf_counter()
    subprocess.run(
        ["xargs", "-P", "2", "-I{}", "sh", "-c", f"{TRIVIAL} {{}}"],
        input=numbers.encode(),
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return {"wall_s": time.perf_counter() - started}


def _history(n: int, seed: int = 0) -> tuple[Any, list[tuple[dict[str, Any], float | None]]]:
    import numpy as np

    from hyperstep.space import Categorical, Integer, LogUniform, Space, Uniform

    space = Space(
        {
            "lr": LogUniform(-5, -1),
            "units": Integer(16, 256, step=16),
            "act": Categorical(["relu", "tanh", "logistic"]),
            "drop": Uniform(0, 0.5, step=0.05),
        }
    )
    rng = np.random.default_rng(seed)
    history: list[tuple[dict[str, Any], float | None]] = []
    for _ in range(n):
        p = space.sample(rng)
        value = (np.log10(p["lr"]) + 3) ** 2 + (p["units"] - 128) ** 2 / 1e4 + p["drop"]
        history.append((p, None if rng.random() < 0.05 else float(value)))
    return space, history


def proposal_times(sizes: list[int], engines: list[str]) -> list[dict[str, Any]]:
    from hyperstep.search import make_search

    rows = []
    for n in sizes:
        space, history = _history(n)
        for engine in engines:
            try:
                search = make_search(
                    "bayesian_tpe",
                    space,
                    engine=engine,
                    seed=0,
                    startup=20,
                    execution_count=n + 5,
                )
            except Exception as exc:  # an engine that is not installed
                rows.append({"history": n, "engine": engine, "error": str(exc)})
                continue
            times = []
            for _ in range(3):
                started = time.perf_counter()
                batch = search.propose(history, 5)
                times.append(time.perf_counter() - started)
                assert len(batch) == 5
            rows.append({"history": n, "engine": engine, "batch5_s": statistics.median(times)})
    return rows


def resume_memory(n: int) -> dict[str, Any]:
    """Peak RSS of ``hyperstep task resume`` on a task with ``n`` finished executions."""
    from hyperstep.model import ExecutionStatus as S
    from hyperstep.model import TaskType
    from hyperstep.store import Store

    root = Path(tempfile.mkdtemp(prefix="hs-memory-"))
    try:
        (root / "valohai.yaml").write_text(
            textwrap.dedent(
                """\
                - step:
                    name: obj
                    image: python:3.11
                    command: python3 -c 'print(dict(v=1.0))' {parameters}
                    parameters:
                      - name: x
                        type: float
                        default: 0.0
                """
            ),
            encoding="utf-8",
        )
        spec = {
            "name": "big",
            "step": "obj",
            "type": "bayesian_tpe",
            "parameters": {
                "x": {"style": "random", "rules": {"distribution": "uniform", "min": 0, "max": 1}}
            },
            "execution_count": n + 5,
            "execution_batch_size": 5,
            "optimization_target_metric": "v",
            "engine": "optuna",
            "seed": 0,
        }
        from hyperstep.taskspec import TaskSpec

        spec_json = TaskSpec.from_json(spec).to_json()
        store = Store.open(None, root)
        task = store.create_task(
            name="big", step="obj", type=TaskType.BAYESIAN_TPE, spec=spec_json, seed=0
        )
        import random

        rnd = random.Random(0)
        chunk = 500
        for start in range(0, n, chunk):
            items = [
                (i, {"x": rnd.random()}, f"python3 -c ... --x={i}")
                for i in range(start, min(n, start + chunk))
            ]
            records = store.create_task_executions(
                task.id, items, ".hyperstep/executions/{counter}"
            )
            for r in records:
                store.transition(r.id, [S.CREATED], S.QUEUED)
                store.transition(r.id, [S.QUEUED], S.STARTED)
                store.append_output(
                    r.id,
                    logs=[("stdout", time.time(), '{"v": 0.5}')],
                    events=[(time.time(), {"v": rnd.random()})],
                    stdout_offset=11,
                    stderr_offset=0,
                )
                store.transition(r.id, [S.STARTED], S.COMPLETE, exit_code=0)
        store.close()
        wall, peak = _measured(["task", "resume", "1"], root)
        return {"history": n, "resume_wall_s": wall, "peak_rss_mb": peak}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--engines", default="optuna,hyperopt,auto")
    parser.add_argument("--out", default="benchmarks/results/overhead.json")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results: dict[str, Any] = {"cpu_count": os.cpu_count(), "load_avg": os.getloadavg()}
    hs = run_hyperstep(args.executions)
    xa = run_xargs(args.executions)
    results["runner"] = {
        "executions": args.executions,
        "hyperstep": hs,
        "xargs": xa,
        "ratio": hs["wall_s"] / xa["wall_s"],
    }
    sizes = [int(s) for s in args.sizes.split(",")]
    results["proposal"] = proposal_times(sizes, args.engines.split(","))
    results["memory"] = [resume_memory(n) for n in sizes]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2), encoding="utf-8")
    r = results["runner"]
    print("| runner | executions | wall (s) |\n|---|---|---|")
    print(f"| hyperstep task run (batch 2) | {r['executions']} | {r['hyperstep']['wall_s']:.1f} |")
    print(f"| xargs -P 2 | {r['executions']} | {r['xargs']['wall_s']:.1f} |")
    print(
        f"\nratio hyperstep / xargs: **{r['ratio']:.2f}×**; engine peak RSS "
        f"{r['hyperstep']['engine_peak_rss_mb']:.0f} MB\n"
    )
    print("| history | engine | batch of 5 (s) |\n|---|---|---|")
    for row in results["proposal"]:
        value = f"{row['batch5_s']:.3f}" if "batch5_s" in row else row.get("error", "")
        print(f"| {row['history']} | {row['engine']} | {value} |")
    print(
        "\n| finished executions | `task resume` wall (s) | engine peak RSS (MB) |\n|---|---|---|"
    )
    for row in results["memory"]:
        print(f"| {row['history']} | {row['resume_wall_s']:.1f} | {row['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
