"""Task blueprints (``- task:`` items) turned into :class:`~hyperstep.taskspec.TaskSpec`."""

from __future__ import annotations

import dataclasses
from typing import Any

from valohai_yaml.objs import Task

from hyperstep.errors import ValidationError
from hyperstep.model import OnChildError, TaskType
from hyperstep.project.loader import Project
from hyperstep.taskspec import TaskSpec, Variant

_FIELDS = frozenset(f.name for f in dataclasses.fields(TaskSpec))


def blueprint_spec(project: Project, name: str, **overrides: Any) -> TaskSpec:
    """The task spec of blueprint ``name``, with ``overrides`` applied (``None`` ones ignored).

    ``overrides`` use :class:`TaskSpec`'s field names (``execution_count=10``, ``seed=3``);
    ``parameters`` is merged name by name into the blueprint's. The spec is not validated here:
    call :func:`hyperstep.taskspec.validate_task_spec` with the step.
    """
    task = project.blueprint(name)
    spec = task_to_spec(task)
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in _FIELDS:
            raise ValidationError(
                f"unknown task setting {key!r} (known: {', '.join(sorted(_FIELDS))})", field=key
            )
        if key == "parameters":
            value = {**spec.parameters, **value}
        elif key == "type" and isinstance(value, str):
            value = _task_type(value)
        elif key == "on_child_error" and isinstance(value, str):
            value = _on_child_error(value)
        changes[key] = value
    return dataclasses.replace(spec, **changes)


def task_to_spec(task: Task) -> TaskSpec:
    """A valohai-yaml ``Task`` as a spec; a type hyperstep cannot run is a ValidationError."""
    task_type = _task_type(task.type.value)
    parameters: dict[str, Variant] = {
        vp.name: (vp.style.value, dict(vp.rules or {})) for vp in task.parameters
    }
    on_child_error = (
        _on_child_error(task.on_child_error.value)
        if task.on_child_error is not None
        else OnChildError.CONTINUE_AND_ERROR
    )
    target = task.optimization_target_value
    return TaskSpec(
        name=task.name,
        step=task.step,
        type=task_type,
        parameters=parameters,
        parameter_sets=[dict(s) for s in task.parameter_sets] or None,
        execution_count=task.execution_count,
        execution_batch_size=task.execution_batch_size,
        maximum_queued_executions=task.maximum_queued_executions,
        optimization_target_metric=task.optimization_target_metric,
        optimization_target_value=float(target) if target is not None else None,
        engine=task.engine,
        on_child_error=on_child_error,
        stop_condition=task.stop_condition,
    )


def _task_type(text: str) -> TaskType:
    try:
        return TaskType.parse(text)
    except ValueError as err:
        if text.strip().lower() == "distributed":
            message = (
                "hyperstep does not run distributed tasks (their executions talk to each other)"
            )
        else:
            message = str(err)
        raise ValidationError(message, field="type") from None


def _on_child_error(text: str) -> OnChildError:
    try:
        return OnChildError.parse(text)
    except ValueError as err:
        raise ValidationError(str(err), field="on-child-error") from None
