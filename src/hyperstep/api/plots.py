"""What the task page plots, aggregated on the server into compact column arrays.

One response feeds every plot of a task: the optimization history (metric per execution and
the best so far, random start-up executions marked), parallel coordinates, the metric against
each parameter, and parameter importance. Columns rather than one object per execution keep a
task of thousands of executions to a few hundred kilobytes, and numbers are rounded to the
six significant digits a plot can show.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hyperstep.api.importance import Feature, parameter_importance
from hyperstep.engine.task import STARTUP
from hyperstep.model import ExecutionStatus, TaskType
from hyperstep.search.objective import objective_value
from hyperstep.store import ExecutionRecord
from hyperstep.taskspec import TaskSpec

#: Styles and distributions whose axis is logarithmic.
_LOG_STYLES = frozenset({"logspace"})
_LOG_DISTRIBUTIONS = frozenset({"loguniform", "log_uniform", "log-uniform"})


@dataclass(frozen=True)
class ParameterColumn:
    """One varied parameter over the plotted executions."""

    name: str
    scale: str  # "linear" | "log" | "categorical"
    values: list[Any]  # numbers; category codes for "categorical"
    categories: list[str] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scale": self.scale,
            "values": self.values,
            "categories": self.categories,
        }


def round6(value: Any) -> Any:
    """A float with six significant digits (None for NaN and infinities); others unchanged."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.6g}")
    return value


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def metric_keys(records: Iterable[ExecutionRecord]) -> list[str]:
    """Metadata keys with a numeric latest value in some execution (``_time`` and such left out)."""
    keys: dict[str, None] = {}
    for record in records:
        for key, value in record.cumulative_metadata.items():
            if not key.startswith("_") and is_number(value):
                keys.setdefault(key, None)
    return sorted(keys)


#: Keys that count progress rather than measure anything: never the default metric.
PROGRESS_KEYS = frozenset({"epoch", "step", "iteration", "iter", "batch"})


def default_metric(keys: Sequence[str]) -> str | None:
    """What to plot for a task without a target metric: the first key that is not a counter."""
    for key in keys:
        if key.lower() not in PROGRESS_KEYS:
            return key
    return keys[0] if keys else None


def varied_parameters(spec: TaskSpec, records: Sequence[ExecutionRecord]) -> list[str]:
    """The parameters a task varies: its variants other than ``single``, and manual sets' keys."""
    names = [n for n, (style, _) in spec.parameters.items() if style != "single"]
    for values in spec.parameter_sets or []:
        names.extend(k for k in values if k not in names)
    if not names and records:  # a spec from elsewhere: whatever differs between executions
        first = records[0].parameters
        names = [k for k in first if any(r.parameters.get(k) != first[k] for r in records)]
    return names


def _scale(spec: TaskSpec, name: str, values: Sequence[Any]) -> str:
    present = [v for v in values if v is not None]
    if not present or not all(is_number(v) for v in present):
        return "categorical"
    style, rules = spec.parameters.get(name, ("", {}))
    distribution = str(rules.get("distribution", "")).lower()
    log = style in _LOG_STYLES or (style == "random" and distribution in _LOG_DISTRIBUTIONS)
    if log and all(v > 0 for v in present):
        return "log"
    return "linear"


def parameter_column(spec: TaskSpec, name: str, raw: Sequence[Any]) -> ParameterColumn:
    scale = _scale(spec, name, raw)
    if scale != "categorical":
        return ParameterColumn(
            name, scale, [round6(float(v)) if v is not None else None for v in raw], None
        )
    labels: dict[str, int] = {}
    codes: list[Any] = []
    for value in raw:
        if value is None:
            codes.append(None)
            continue
        label = value if isinstance(value, str) else _label(value)
        codes.append(labels.setdefault(label, len(labels)))
    return ParameterColumn(name, "categorical", codes, list(labels))


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def startup_count(spec: TaskSpec, total: int) -> int:
    """How many of a Bayesian task's first executions were random start-up points."""
    if spec.type is not TaskType.BAYESIAN_TPE:
        return 0
    return min(STARTUP, total) if total > STARTUP else total


def plot_data(
    spec: TaskSpec,
    records: Sequence[ExecutionRecord],
    *,
    metric: str | None = None,
    with_importance: bool = True,
) -> dict[str, Any]:
    """Every plot's data for one task; ``metric`` defaults to the task's target metric.

    Points are every complete execution that logged the metric, in task order; see
    :func:`sample_points` for what a browser is sent for large tasks.
    """
    keys = metric_keys(records)
    chosen = metric or spec.optimization_target_metric or default_metric(keys)
    ordered = sorted(
        records, key=lambda r: (r.task_index if r.task_index is not None else r.counter, r.counter)
    )
    planned = max((spec.execution_count or 0), len(ordered))
    startup = startup_count(spec, planned)
    rows = [r for r in ordered if r.status is ExecutionStatus.COMPLETE]
    names = varied_parameters(spec, ordered)
    data: dict[str, Any] = {
        "metric": chosen,
        "metrics": keys,
        "target": spec.optimization_target_value
        if chosen == spec.optimization_target_metric
        else None,
        "direction": spec.direction or "minimize",
        "startup": startup,
        "failed": sum(
            1 for r in ordered if r.status in (ExecutionStatus.ERROR, ExecutionStatus.CRASHED)
        ),
        "finished": sum(1 for r in ordered if r.status.is_final),
    }
    measured = [(r, _metric(r, chosen)) for r in rows]
    rows = [r for r, v in measured if v is not None]
    values = [v for _, v in measured if v is not None]
    objective = [_objective(spec, chosen, v) for v in values]
    columns = [parameter_column(spec, n, [r.parameters.get(n) for r in rows]) for n in names]
    positions = [r.task_index + 1 if r.task_index is not None else k + 1
                 for k, r in enumerate(rows)]
    data.update(
        counter=[r.counter for r in rows],
        index=[r.task_index for r in rows],
        value=[round6(v) for v in values],
        objective=[round6(v) for v in objective],
        best_line=_best_line(positions, values, objective),
        parameters=[c.to_json() for c in columns],
        n=len(rows),
        n_total=len(rows),
    )
    if with_importance:
        data["importance"] = importance_from(data)
    return data


#: The scatter plots get at most this many executions; more only slow the browser down.
MAX_POINTS = 1000
#: The best executions are always among them.
KEEP_BEST = 200
_SAMPLED = ("counter", "index", "value", "objective")


def sample_points(data: dict[str, Any], limit: int = MAX_POINTS) -> dict[str, Any]:
    """:func:`plot_data` reduced to ``limit`` executions: the best ones and an even sample.

    The best-so-far line and the importance were computed on every execution; only the points
    drawn one by one (history markers, parallel-coordinate lines, metric against parameter)
    are thinned, deterministically, keeping the task order.
    """
    n = int(data["n"])
    if n <= limit:
        return data
    best = set(sorted(range(n), key=lambda i: data["objective"][i])[: min(KEEP_BEST, limit)])
    rest = [i for i in range(n) if i not in best]
    room = limit - len(best)
    step = len(rest) / room if room > 0 else 0.0
    picked = best | {rest[int(k * step)] for k in range(room)}
    keep = sorted(picked)
    out = dict(data)
    for key in _SAMPLED:
        out[key] = [data[key][i] for i in keep]
    out["parameters"] = [
        {**column, "values": [column["values"][i] for i in keep]} for column in data["parameters"]
    ]
    out["n"] = len(keep)
    return out


def importance_from(data: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Parameter importance from :func:`plot_data`'s columns (see :mod:`.importance`)."""
    features = []
    for column in data["parameters"]:
        values = column["values"]
        if column["scale"] == "log":
            values = [None if v is None else math.log10(v) for v in values]
        features.append(Feature(column["name"], values))
    ranked = parameter_importance(features, data["objective"])
    if ranked is None:
        return None
    return [{"name": name, "importance": round6(value)} for name, value in ranked]


def _metric(record: ExecutionRecord, key: str | None) -> float | None:
    if key is None:
        return None
    value = record.cumulative_metadata.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _objective(spec: TaskSpec, metric: str | None, value: float) -> float:
    """What the task minimises; for another metric than the target, its spec's direction."""
    if metric == spec.optimization_target_metric:
        result = objective_value(
            value, target=spec.optimization_target_value, direction=spec.direction
        )
        if result is not None:
            return float(result)
    return -value if spec.direction == "maximize" else value


def _best_line(
    positions: Sequence[int], values: Sequence[float], objective: Sequence[float]
) -> dict[str, list[Any]]:
    """The best-so-far step line: the points where it improves, and the last position."""
    xs: list[Any] = []
    ys: list[Any] = []
    best_objective = math.inf
    for position, value, obj in zip(positions, values, objective, strict=True):
        if obj < best_objective:
            best_objective = obj
            xs.append(position)
            ys.append(round6(value))
    if xs and positions and positions[-1] != xs[-1]:
        xs.append(positions[-1])
        ys.append(ys[-1])
    return {"x": xs, "y": ys}
