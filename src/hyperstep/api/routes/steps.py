"""``/steps/`` and ``/blueprints/``: what ``valohai.yaml`` offers to run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hyperstep.api.errors import SafeJSONResponse, responses
from hyperstep.api.models import BlueprintList, StepList
from hyperstep.api.payloads import blueprints
from hyperstep.api.state import StateDep
from hyperstep.project import StepInfo

router = APIRouter(tags=["steps"])


def step_json(step: StepInfo) -> dict[str, Any]:
    return {
        "name": step.name,
        "image": step.image,
        "command": step.command,
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "default": p.default,
                "optional": p.optional,
                "required": p.required,
                "min": p.min,
                "max": p.max,
                "choices": p.choices,
                "multiple": p.multiple,
                "description": p.description,
            }
            for p in step.parameters.values()
        ],
    }


@router.get("/steps/", response_model=StepList, responses=responses())
def list_steps(state: StateDep) -> SafeJSONResponse:
    """The project's steps with their typed parameters."""
    results = [step_json(s) for s in state.ctx.project.steps.values()]
    return SafeJSONResponse({"count": len(results), "results": results})


@router.get("/blueprints/", response_model=BlueprintList, responses=responses())
def list_blueprints(state: StateDep) -> SafeJSONResponse:
    """The project's task blueprints, each as the task payload that starts it."""
    results = blueprints(state.ctx)
    return SafeJSONResponse({"count": len(results), "results": results})
