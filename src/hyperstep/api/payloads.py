"""Between task payloads and task specs: checking a payload fully, and blueprints as payloads.

:func:`check_payload` is what the Create Task form calls as the user types: it collects every
problem (not just the first) with the payload field it belongs to, and for a valid task says
how many executions it would create and shows it as a ``valohai.yaml`` blueprint.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError as PydanticValidationError

from hyperstep.api.errors import error_entry, validation_entries
from hyperstep.api.models import MAX_NAME, TaskCreate
from hyperstep.engine.plan import preview
from hyperstep.errors import HyperstepError, ValidationError
from hyperstep.project import StepInfo, blueprint_spec
from hyperstep.service import Context
from hyperstep.taskspec import TaskSpec, task_spec_problems


def spec_of(ctx: Context, model: TaskCreate) -> TaskSpec:
    """The spec of a schema-valid payload; raises the first problem with its field."""
    data = model.payload()
    if model.inputs:
        raise ValidationError(
            "hyperstep does not download inputs; put the data in the project folder",
            field="inputs",
        )
    return TaskSpec.from_api_payload(data)


def step_of(ctx: Context, name: str) -> StepInfo:
    """The step a payload names; an unknown one is a ValidationError of field ``step``."""
    step = ctx.project.steps.get(name)
    if step is None:
        known = ", ".join(repr(n) for n in ctx.project.steps) or "none"
        raise ValidationError(
            f"no step named {name[:MAX_NAME]!r} in {ctx.project.config_path.name} "
            f"(known steps: {known})",
            field="step",
        )
    return step


def check_payload(ctx: Context, raw: Any) -> dict[str, Any]:
    """Every problem of a task payload, and what it would run when there is none."""
    result: dict[str, Any] = {
        "valid": False,
        "errors": [],
        "count": None,
        "notes": [],
        "parameters": {},
        "blueprint": None,
    }
    try:
        model = TaskCreate.model_validate(raw)
    except PydanticValidationError as exc:
        result["errors"] = validation_entries(exc.errors())
        return result
    try:
        spec = spec_of(ctx, model)
        step = step_of(ctx, spec.step)
    except HyperstepError as exc:
        result["errors"] = [error_entry(exc)]
        return result
    problems = [error_entry(p) for p in task_spec_problems(spec, step)]
    if problems:
        result["errors"] = problems
        return result
    try:
        info = preview(spec, step)
    except HyperstepError as exc:
        result["errors"] = [error_entry(exc)]
        return result
    result.update(
        valid=True,
        count=int(info["count"]),
        notes=list(info.get("notes", [])),
        parameters={str(k): str(v) for k, v in info.get("parameters", {}).items()},
        blueprint=spec.to_blueprint_yaml(),
    )
    return result


def spec_payload(spec: TaskSpec) -> dict[str, Any]:
    """A spec as Valohai's task payload (what the form loads for a blueprint)."""
    configuration = {
        "execution_count": spec.execution_count,
        "execution_batch_size": spec.execution_batch_size,
        "engine": spec.engine,
        "optimization_target_metric": spec.optimization_target_metric,
        "optimization_target_value": spec.optimization_target_value,
    }
    payload: dict[str, Any] = {
        "title": spec.name,
        "step": spec.step,
        "type": spec.type.value,
        "parameters": {
            name: {"style": style, "rules": dict(rules)}
            for name, (style, rules) in spec.parameters.items()
        },
        "configuration": {k: v for k, v in configuration.items() if v is not None},
        "on_child_error": spec.on_child_error.value.replace("-", "_"),
    }
    for key, value in (
        ("parameter_sets", spec.parameter_sets),
        ("maximum_queued_executions", spec.maximum_queued_executions),
        ("task_stop_expression", spec.stop_condition),
        ("direction", spec.direction),
        ("seed", spec.seed),
    ):
        if value is not None:
            payload[key] = value
    return payload


def blueprints(ctx: Context) -> list[dict[str, Any]]:
    """Every ``- task:`` blueprint of the project, as a payload, with its first problem."""
    out = []
    for name in ctx.project.blueprints:
        entry: dict[str, Any] = {
            "name": name,
            "step": "",
            "type": "",
            "valid": False,
            "error": None,
            "payload": None,
            "yaml": None,
        }
        try:
            spec = blueprint_spec(ctx.project, name)
            entry.update(
                step=spec.step,
                type=spec.type.value,
                payload=spec_payload(spec),
                yaml=spec.to_blueprint_yaml(),
            )
            for problem in task_spec_problems(spec, ctx.project.step(spec.step)):
                entry["error"] = str(problem)
                break
            entry["valid"] = entry["error"] is None
        except HyperstepError as exc:
            entry["error"] = str(exc)
        out.append(entry)
    return out
