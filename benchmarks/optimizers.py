"""HPO-50×5: how good is the best execution after 50 of them, in synchronous batches of 5.

Protocol: budget 50 = 10 synchronous batches of 5; all 5 points of a batch are proposed before
any of their results is known; the first 20 points are random for the methods that take a
start-up size (Optuna's ``TPESampler()`` defaults keep their own 10); 20 paired seeds (seed ``s``
of every method sees the same problem); ``OMP_NUM_THREADS=1``, methods run one after the other.

Methods:
  tpe        Optuna ``TPESampler(seed=s)`` defaults: the reference
  tpe20      Optuna ``TPESampler(n_startup_trials=20, seed=s)``
  hyperopt   hyperopt's TPE (20 start-up points), pending points inserted as running trials
  gp         Optuna ``GPSampler(n_startup_trials=20, seed=s)`` (needs torch)
  random     Optuna ``RandomSampler(seed=s)``
  auto       hyperstep ``make_search("bayesian_tpe", space, engine="auto", seed=s, startup=20)``
  optuna-hs  hyperstep's ``engine="optuna"`` path (sanity check against ``tpe``)
  auto-direct  ``AutoEngine.suggest`` without the search wrapper (development; not in the tables)

Usage (see benchmarks/README.md for the exact command of the published tables)::

    python benchmarks/optimizers.py --seeds 20 --out benchmarks/results/hpo50x5.json
    python benchmarks/optimizers.py --report benchmarks/results/hpo50x5.json  # tables only
    python benchmarks/optimizers.py --timing   # engine cost at 50 and 1,000 results
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hyperstep.space import Categorical, Fixed, Integer, LogUniform, Space, Uniform

sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import PROBLEMS, Problem, get_problem

#: One thread for every numeric library: the protocol's, and fair to every method.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

BUDGET, BATCH, STARTUP = 50, 5, 20
REFERENCE = "tpe"
METHODS = ["tpe", "tpe20", "hyperopt", "gp", "random", "auto", "optuna-hs"]

# A run returns (values in evaluation order, milliseconds per model-based suggestion).
RunResult = tuple[list[float], list[float]]


def snap(space: Space, raw: dict[str, Any]) -> dict[str, Any]:
    """The valid point nearest a reference optimizer's raw proposal (lattices, bounds, ints)."""
    point: dict[str, Any] = {}
    for name, dist in space.items():
        value = raw.get(name)
        if isinstance(dist, Fixed):
            value = dist.value
        elif isinstance(dist, (Uniform, LogUniform)):
            value = min(max(float(value), dist.low), dist.high)
            values = dist.values()
            if values is not None:
                value = min(values, key=lambda v, x=value: abs(v - x))
        elif isinstance(dist, Integer):
            k = round((float(value) - dist.low) / dist.step)
            value = dist.low + min(max(k, 0), dist.size - 1) * dist.step
        point[name] = value
    return point


# ---------------------------------------------------------------- Optuna references


def _optuna_distributions(space: Space) -> dict[str, Any]:
    import optuna.distributions as od

    out: dict[str, Any] = {}
    for name, dist in space.items():
        if isinstance(dist, Uniform):
            out[name] = od.FloatDistribution(dist.low, dist.high, step=dist.step)
        elif isinstance(dist, LogUniform):
            out[name] = od.FloatDistribution(dist.low, dist.high, log=True)
        elif isinstance(dist, Integer):
            out[name] = od.IntDistribution(dist.low, dist.high, step=dist.step, log=dist.log)
        elif isinstance(dist, Categorical):
            out[name] = od.CategoricalDistribution(list(dist.choices))
        elif isinstance(dist, Fixed):
            out[name] = od.CategoricalDistribution([dist.value])
    return out


def _optuna_sampler(method: str, seed: int) -> Any:
    import optuna

    if method == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if method == "tpe20":
        return optuna.samplers.TPESampler(n_startup_trials=STARTUP, seed=seed)
    if method == "gp":
        return optuna.samplers.GPSampler(n_startup_trials=STARTUP, seed=seed)
    if method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise KeyError(method)


def run_optuna(problem: Problem, method: str, seed: int) -> RunResult:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=_optuna_sampler(method, seed))
    dists = _optuna_distributions(problem.space)
    values: list[float] = []
    ms: list[float] = []
    for _ in range(BUDGET // BATCH):
        trials = []
        for _ in range(BATCH):
            start = time.process_time()
            trial = study.ask(fixed_distributions=dists)
            elapsed = 1000 * (time.process_time() - start)
            if len(values) + len(trials) >= STARTUP:
                ms.append(elapsed)
            trials.append(trial)
        for trial in trials:
            value = problem.objective(snap(problem.space, trial.params))
            study.tell(trial, value)
            values.append(value)
    return values, ms


# ---------------------------------------------------------------- hyperopt reference


def _hyperopt_space(space: Space) -> dict[str, Any]:
    from hyperopt import hp

    out: dict[str, Any] = {}
    for name, dist in space.items():
        if isinstance(dist, Uniform):
            if dist.step is None:
                out[name] = hp.uniform(name, dist.low, dist.high)
            else:
                out[name] = hp.quniform(name, dist.low, dist.high, dist.step)
        elif isinstance(dist, LogUniform):
            out[name] = hp.loguniform(name, math.log(dist.low), math.log(dist.high))
        elif isinstance(dist, Integer):
            if dist.log:
                out[name] = hp.qloguniform(name, math.log(dist.low), math.log(dist.high), 1)
            else:
                out[name] = hp.quniform(name, dist.low, dist.high, dist.step)
        elif isinstance(dist, Categorical):
            out[name] = hp.choice(name, list(dist.choices))
        elif isinstance(dist, Fixed):
            out[name] = dist.value
    return out


def run_hyperopt(problem: Problem, method: str, seed: int) -> RunResult:
    import logging

    from hyperopt import JOB_STATE_DONE, STATUS_OK, Domain, Trials, space_eval, tpe

    logging.getLogger("hyperopt").setLevel(logging.WARNING)
    hspace = _hyperopt_space(problem.space)
    domain = Domain(lambda _p: 0.0, hspace)
    trials = Trials()
    rng = np.random.default_rng(seed)
    values: list[float] = []
    ms: list[float] = []
    for _ in range(BUDGET // BATCH):
        docs = []
        for _ in range(BATCH):
            # One suggestion at a time, the earlier ones of the batch inserted as running
            # trials: how hyperopt itself runs asynchronous workers.
            start = time.process_time()
            [doc] = tpe.suggest(
                trials.new_trial_ids(1), domain, trials, int(rng.integers(2**31 - 1))
            )
            elapsed = 1000 * (time.process_time() - start)
            if len(values) + len(docs) >= STARTUP:
                ms.append(elapsed)
            trials.insert_trial_docs([doc])
            trials.refresh()
            docs.append(doc)
        for doc in docs:
            vals = {k: v[0] for k, v in doc["misc"]["vals"].items() if v}
            value = problem.objective(snap(problem.space, space_eval(hspace, vals)))
            doc["state"] = JOB_STATE_DONE
            doc["result"] = {"loss": value, "status": STATUS_OK}
            values.append(value)
        trials.refresh()
    return values, ms


# ---------------------------------------------------------------- hyperstep


def run_hyperstep(problem: Problem, method: str, seed: int) -> RunResult:
    from hyperstep.search import make_search

    engine = {"auto": "auto", "optuna-hs": "optuna"}[method]
    search = make_search(
        "bayesian_tpe",
        problem.space,
        engine=engine,
        seed=seed,
        startup=STARTUP,
        execution_count=BUDGET,
    )
    history: list[tuple[dict[str, Any], float | None]] = []
    ms: list[float] = []
    for _ in range(BUDGET // BATCH):
        start = time.process_time()
        points = search.propose(history, BATCH)
        elapsed = 1000 * (time.process_time() - start)
        if len(history) >= STARTUP:
            ms.extend([elapsed / BATCH] * BATCH)
        assert len(points) == BATCH, points
        for point in points:
            assert problem.space.contains(point), point
            history.append((point, problem.objective(point)))
    return [float(v) for _, v in history if v is not None], ms


def run_engine_direct(problem: Problem, method: str, seed: int) -> RunResult:
    """``AutoEngine`` without the search wrapper (random start-up drawn here): for development."""

    from hyperstep.search.auto import AutoEngine

    engine = AutoEngine()
    rng = np.random.default_rng(seed)
    history: list[tuple[dict[str, Any], float | None]] = []
    ms: list[float] = []
    while len(history) < BUDGET:
        if len(history) < STARTUP:
            points = [problem.space.sample(rng) for _ in range(BATCH)]
        else:
            start = time.process_time()
            points = engine.suggest(problem.space, history, BATCH, [], seed)
            ms.extend([1000 * (time.process_time() - start) / BATCH] * BATCH)
        for point in points:
            assert problem.space.contains(point), point
            history.append((point, problem.objective(point)))
    return [float(v) for _, v in history if v is not None], ms


RUNNERS: dict[str, Callable[[Problem, str, int], RunResult]] = {
    "auto-direct": run_engine_direct,
    "tpe": run_optuna,
    "tpe20": run_optuna,
    "gp": run_optuna,
    "random": run_optuna,
    "hyperopt": run_hyperopt,
    "auto": run_hyperstep,
    "optuna-hs": run_hyperstep,
}


# ---------------------------------------------------------------- statistics and tables


def _wilcoxon(a: list[float], b: list[float]) -> float:
    from scipy.stats import wilcoxon

    diff = np.array(a) - np.array(b)
    if not np.any(diff != 0):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(wilcoxon(a, b).pvalue)


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """Per problem and method: median/mean regret, win-rate and Wilcoxon p vs the reference."""
    summary: dict[str, Any] = {"problems": {}, "aggregate": {}}
    ratios: dict[str, list[float]] = {}
    for problem, by_method in results["runs"].items():
        ref = by_method.get(REFERENCE)
        rows: dict[str, Any] = {}
        order = [m for m in METHODS if m in by_method] + [m for m in by_method if m not in METHODS]
        for method in order:
            run = by_method[method]
            regrets = [float(r) for r in run["regrets"]]
            row: dict[str, Any] = {
                "seeds": len(regrets),
                "median_regret": float(np.median(regrets)),
                "mean_regret": float(np.mean(regrets)),
                "median_ms": float(np.median(run["ms"])) if run["ms"] else float("nan"),
            }
            if ref is not None and method != REFERENCE:
                paired = min(len(regrets), len(ref["regrets"]))
                a, b = regrets[:paired], [float(r) for r in ref["regrets"][:paired]]
                wins = sum(
                    1.0 if x < y else 0.5 if x == y else 0.0 for x, y in zip(a, b, strict=True)
                )
                row["win_rate"] = wins / paired
                row["wilcoxon_p"] = _wilcoxon(a, b)
                ref_median = float(np.median(b))
                row["ratio"] = row["median_regret"] / max(ref_median, 1e-12)
                ratios.setdefault(method, []).append(row["ratio"])
            rows[method] = row
        best = min(rows, key=lambda m: rows[m]["median_regret"])
        for method, row in rows.items():
            row["best"] = method == best
        summary["problems"][problem] = rows
    for method, values in ratios.items():
        summary["aggregate"][method] = {
            "geomean_ratio": float(np.exp(np.mean(np.log(np.maximum(values, 1e-12))))),
            "worst_ratio": float(max(values)),
            "problems": len(values),
        }
    return summary


def markdown(results: dict[str, Any]) -> str:
    summary = summarise(results)
    lines = [
        f"Protocol HPO-50×5: {BUDGET} executions in synchronous batches of {BATCH}, "
        f"first {STARTUP} random, paired seeds; regret = best value found − optimum; "
        f"reference `{REFERENCE}` = Optuna `TPESampler()` defaults.",
        "",
    ]
    for problem, rows in summary["problems"].items():
        lines += [
            f"### {problem}",
            "",
            "| method | seeds | median regret | mean regret | ratio vs ref | win-rate vs ref "
            "| Wilcoxon p | median ms per suggestion |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for method, row in rows.items():
            name = f"**{method}**" if row["best"] else method
            lines.append(
                f"| {name} | {row['seeds']} | {row['median_regret']:.4g} | "
                f"{row['mean_regret']:.4g} | {_fmt(row.get('ratio'), '.3f')} | "
                f"{_fmt(row.get('win_rate'), '.2f')} | {_fmt(row.get('wilcoxon_p'), '.3g')} | "
                f"{row['median_ms']:.1f} |"
            )
        lines.append("")
    lines += [
        "### Aggregate (geometric mean over problems of median regret / reference median regret)",
        "",
        "| method | geometric-mean ratio | worst problem ratio | problems | best on |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for method, agg in sorted(summary["aggregate"].items(), key=lambda kv: kv[1]["geomean_ratio"]):
        best_on = sum(
            1 for rows in summary["problems"].values() if rows.get(method, {}).get("best")
        )
        lines.append(
            f"| {method} | {agg['geomean_ratio']:.3f} | {agg['worst_ratio']:.3f} | "
            f"{agg['problems']} | {best_on} |"
        )
    lines.append("")
    if "timing" in results:
        lines += timing_markdown(results["timing"])
    return "\n".join(lines)


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


# ---------------------------------------------------------------- engine cost (goal G4)


def timing(repeats: int = 5) -> dict[str, Any]:
    """Cost of ``AutoEngine.suggest`` on a 10-parameter mixed space, 1 thread."""
    from hyperstep.search.auto import AutoEngine

    space = Space(
        {
            "lr": LogUniform(-5, -1),
            "wd": LogUniform(-6, -2),
            "momentum": Uniform(0.8, 0.99),
            "dropout": Uniform(0.0, 0.5, step=0.05),
            "layers": Integer(1, 8),
            "units": Integer(16, 1024, log=True),
            "batch": Categorical([16, 32, 64, 128], ordered=True),
            "optimizer": Categorical(["adam", "sgd", "rmsprop"]),
            "act": Categorical(["relu", "gelu", "tanh"]),
            "warmup": Uniform(0.0, 0.2),
        }
    )
    engine = AutoEngine()
    out: dict[str, Any] = {}
    for size, n in ((20, 1), (50, 1), (50, 5), (200, 5), (1000, 5)):
        rng = np.random.default_rng(size)
        history = []
        for _ in range(size):
            point = space.sample(rng)
            value = math.log10(point["lr"]) ** 2 + point["layers"] * 0.1 + rng.normal()
            history.append((point, value if rng.random() > 0.05 else None))
        times = []
        for seed in range(repeats):
            start = time.process_time()
            engine.suggest(space, history, n, [], seed)
            times.append(1000 * (time.process_time() - start))
        out[f"{size}x{n}"] = {"history": size, "n": n, "median_ms": float(np.median(times))}
    return out


def timing_markdown(result: dict[str, Any]) -> list[str]:
    lines = [
        "### Engine cost (`AutoEngine.suggest`, 10 mixed parameters, 1 thread)",
        "",
        "| finished executions | points asked | median ms per call | ms per point |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for row in result.values():
        lines.append(
            f"| {row['history']} | {row['n']} | {row['median_ms']:.0f} | "
            f"{row['median_ms'] / row['n']:.0f} |"
        )
    lines.append("")
    return lines


# ---------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    results: dict[str, Any] = {"protocol": "HPO-50x5", "runs": {}}
    if out.exists() and args.resume:
        results = json.loads(out.read_text())
    seeds = list(range(args.seed_start, args.seed_start + args.seeds))
    for name in args.problems:
        problem = get_problem(name)
        for method in args.methods:
            done = results["runs"].get(name, {}).get(method)
            if done is not None and len(done["regrets"]) >= len(seeds):
                continue
            regrets, ms, traces = [], [], []
            start = time.process_time()
            for seed in seeds:
                values, run_ms = RUNNERS[method](problem, method, seed)
                trace = np.minimum.accumulate([problem.regret(v) for v in values]).tolist()
                regrets.append(trace[-1])
                traces.append(trace)
                ms.extend(run_ms)
            results["runs"].setdefault(name, {})[method] = {
                "regrets": regrets,
                "ms": ms,
                "traces": traces,
            }
            print(
                f"{name:18s} {method:10s} median regret {np.median(regrets):.4g} "
                f"({time.process_time() - start:.0f} s)",
                flush=True,
            )
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(results))
            tmp.replace(out)
    return results


def main() -> None:
    if any(os.environ.get(var) != "1" for var in THREAD_VARIABLES):
        # Thread pools are sized at import time: start again with one thread everywhere.
        env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, "1")}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument(
        "--seed-start", type=int, default=0, help="first seed (tuning uses 100 and up)"
    )
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--out", default="benchmarks/results/hpo50x5.json")
    parser.add_argument("--markdown", default=None, help="write the tables here too")
    parser.add_argument("--resume", action="store_true", help="keep finished (problem, method)s")
    parser.add_argument("--report", default=None, help="only print the tables of a JSON file")
    parser.add_argument("--timing", action="store_true", help="also measure the engine cost")
    args = parser.parse_args()
    args.problems = [p for p in args.problems.split(",") if p]
    args.methods = [m for m in args.methods.split(",") if m]
    if args.report:
        results = json.loads(Path(args.report).read_text())
    else:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        results = run(args)
    if args.timing:
        results["timing"] = timing()
        if not args.report:
            Path(args.out).write_text(json.dumps(results))
    text = markdown(results)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")


if __name__ == "__main__":
    main()
