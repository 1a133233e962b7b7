"""From a task spec to what a search needs: the space, or the explicit list of points.

Grid and manual tasks are lists of points fixed when the task starts (a grid never runs a
point twice); random and Bayesian tasks draw from a :class:`~hyperstep.space.Space`. A step
parameter the task does not vary keeps its default, as Valohai sends it as ``single``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from hyperstep.model import TaskType
from hyperstep.project import StepInfo
from hyperstep.space import Distribution, Fixed, Space, variant_distribution, variant_values
from hyperstep.taskspec import DEFAULT_ENGINE, TaskSpec


def _style_rules(variant: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(variant, Mapping):
        return str(variant.get("style") or "single"), dict(variant.get("rules") or {})
    style, rules = variant
    return str(style), dict(rules or {})


def build_space(spec: TaskSpec, step: StepInfo) -> Space:
    """The random/Bayesian view: one distribution per varied parameter."""
    dims: dict[str, Distribution] = {}
    for name, variant in spec.parameters.items():
        style, rules = _style_rules(variant)
        dims[name] = variant_distribution(style, rules, field=f"parameters.{name}")
    return Space(dims)


def explicit_points(spec: TaskSpec, step: StepInfo) -> list[dict[str, Any]]:
    """Every point of a grid (Cartesian product) or a manual search (one per set)."""
    if spec.type is TaskType.MANUAL_SEARCH:
        return [dict(s) for s in (spec.parameter_sets or [])]
    names = list(spec.parameters)
    columns = []
    for name in names:
        style, rules = _style_rules(spec.parameters[name])
        columns.append(variant_values(style, rules, field=f"parameters.{name}"))
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*columns)]


def fixed_space(points: list[dict[str, Any]]) -> Space:
    """A degenerate space used for grids and manual searches (for plotting and export)."""
    if not points:
        return Space({})
    return Space({k: Fixed(v) for k, v in points[0].items()})


def preview(spec: TaskSpec, step: StepInfo) -> dict[str, Any]:
    """What ``--dry-run`` prints: the number of executions and each parameter's values/space."""
    notes: list[str] = []
    params: dict[str, str] = {}
    info: dict[str, Any] = {"type": spec.type.value, "step": spec.step}
    if spec.type in (TaskType.GRID_SEARCH, TaskType.MANUAL_SEARCH):
        points = explicit_points(spec, step)
        info["count"] = len(points)
        info["points"] = points
        if spec.type is TaskType.GRID_SEARCH:
            for name, variant in spec.parameters.items():
                style, rules = _style_rules(variant)
                values = variant_values(style, rules, field=f"parameters.{name}")
                params[name] = f"{len(values)} values: " + ", ".join(map(repr, values))
        else:
            for name in sorted({k for p in points for k in p}):
                params[name] = ", ".join(repr(p.get(name)) for p in points)
    else:
        space = build_space(spec, step)
        info["count"] = int(spec.execution_count or 0)
        info["space"] = space.to_json()
        for name, dist in space.items():
            params[name] = _describe(dist)
        if spec.type is TaskType.BAYESIAN_TPE:
            n = info["count"]
            if n <= 20:
                notes.append(f"{n} executions: fewer than 20, so this task runs as random search.")
            else:
                notes.append(
                    f"The first 20 executions are random search; the other {n - 20} are proposed "
                    f"by the {spec.engine or DEFAULT_ENGINE} engine in batches of "
                    f"{spec.execution_batch_size or 'the default size'}."
                )
    unvaried = [p for p in step.parameters if p not in params]
    for name in unvaried:
        params[name] = f"default: {step.parameters[name].default!r}"
    info["parameters"] = params
    info["notes"] = notes
    return info


def _describe(dist: Distribution) -> str:
    data = dist.to_json()
    kind = data.pop("type", type(dist).__name__)
    return f"{kind}(" + ", ".join(f"{k}={v!r}" for k, v in data.items()) + ")"
