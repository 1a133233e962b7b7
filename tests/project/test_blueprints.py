"""blueprint_spec and the blueprint -> TaskSpec -> valohai.yaml -> TaskSpec round trip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hyperstep.errors import NotFoundError, ValidationError
from hyperstep.model import OnChildError, TaskType
from hyperstep.project import blueprint_spec, load_project
from hyperstep.taskspec import TaskSpec, validate_task_spec

WriteProject = Callable[[str], Path]

STEP = """
- step:
    name: train
    image: python:3.11
    command: python train.py {parameters}
    parameters:
      - {name: lr, type: float, default: 0.1}
      - {name: units, type: integer, default: 32}
      - {name: act, type: string, default: relu}
      - {name: scale, type: flag}
"""


def test_digits_blueprints(digits: Path) -> None:
    project = load_project(digits)
    bayes = blueprint_spec(project, "digits-bayes")
    assert bayes == TaskSpec(
        name="digits-bayes",
        step="train",
        type=TaskType.BAYESIAN_TPE,
        parameters={
            "learning_rate": ("random", {"distribution": "loguniform", "min": -4, "max": -1}),
            "hidden_units": (
                "random",
                {"distribution": "integer", "min": 16, "max": 256, "step": 16},
            ),
            "activation": ("multiple", {"items": ["relu", "tanh", "logistic"]}),
            "optimizer": ("multiple", {"items": ["adam", "sgd"]}),
        },
        execution_count=50,
        execution_batch_size=5,
        optimization_target_metric="val_accuracy",
        optimization_target_value=1.0,
        stop_condition="val_accuracy > 0.995",
    )
    manual = blueprint_spec(project, "digits-manual")
    assert manual.type is TaskType.MANUAL_SEARCH
    assert manual.parameter_sets is not None and len(manual.parameter_sets) == 3
    assert blueprint_spec(project, "digits-random").execution_batch_size == 4
    for name in project.blueprints:
        spec = blueprint_spec(project, name)
        validate_task_spec(spec, project.step(spec.step))


def test_overrides(digits: Path) -> None:
    project = load_project(digits)
    spec = blueprint_spec(
        project,
        "digits-bayes",
        execution_count=10,
        seed=7,
        direction=None,  # None overrides are ignored
        type="random-search",
        on_child_error="stop_all_and_error",
        parameters={"learning_rate": ("random", {"distribution": "uniform", "min": 0, "max": 1})},
    )
    assert spec.execution_count == 10
    assert spec.seed == 7
    assert spec.type is TaskType.RANDOM_SEARCH
    assert spec.on_child_error is OnChildError.STOP_ALL_AND_ERROR
    assert spec.parameters["learning_rate"][1]["distribution"] == "uniform"
    assert "activation" in spec.parameters  # merged, not replaced


def test_unknown_override(digits: Path) -> None:
    with pytest.raises(ValidationError, match="unknown task setting 'executions'"):
        blueprint_spec(load_project(digits), "digits-grid", executions=3)


def test_unknown_blueprint(digits: Path) -> None:
    with pytest.raises(NotFoundError, match="digits-grid"):
        blueprint_spec(load_project(digits), "nope")


def test_distributed_blueprints_are_refused(write_project: WriteProject) -> None:
    root = write_project(
        STEP + "- task: {name: d, step: train, type: distributed, parameters: []}\n"
    )
    with pytest.raises(ValidationError, match="does not run distributed tasks") as caught:
        blueprint_spec(load_project(root), "d")
    assert caught.value.field == "type"


def test_valohai_spellings_are_normalised(write_project: WriteProject) -> None:
    root = write_project(
        STEP
        + """
- task:
    name: t
    step: train
    type: RANDOM-SEARCH
    on-child-error: stop_all-AND_error
    execution-count: 4
    parameters:
      - {name: lr, style: linear, rules: {start: 0.1, end: 0.3, step: 0.1}}
"""
    )
    spec = blueprint_spec(load_project(root), "t")
    assert spec.type is TaskType.RANDOM_SEARCH
    assert spec.on_child_error is OnChildError.STOP_ALL_AND_ERROR
    assert spec.parameters["lr"][0] == "linear"


ROUND_TRIP = [
    TaskSpec(name="grid", step="train"),
    TaskSpec(
        name="every field",
        step="train",
        type=TaskType.BAYESIAN_TPE,
        parameters={
            "lr": ("random", {"distribution": "loguniform", "min": -5, "max": -1, "step": 0.001}),
            "units": ("random", {"distribution": "integer", "min": 8, "max": 64, "step": 8}),
            "act": ("multiple", {"items": ["relu", "tanh"]}),
            "scale": ("multiple", {"items": [True, False]}),
        },
        execution_count=30,
        execution_batch_size=3,
        maximum_queued_executions=6,
        optimization_target_metric="val_loss",
        optimization_target_value=0.01,
        engine="optuna",
        on_child_error=OnChildError.CONTINUE_AND_COMPLETE,
        stop_condition="val_loss < 0.02 and execution.duration > 1",
    ),
    TaskSpec(
        name="manual",
        step="train",
        type=TaskType.MANUAL_SEARCH,
        parameters={"units": ("single", {"value": 16})},
        parameter_sets=[{"lr": 0.1, "act": "relu"}, {"lr": 0.2, "act": "tanh"}],
    ),
    TaskSpec(
        name="grid of spaces",
        step="train",
        parameters={
            "lr": ("logspace", {"start": -3, "end": -1, "count": 3, "base": 10}),
            "units": ("linear", {"start": 8, "end": 32, "step": 8}),
        },
        maximum_queued_executions=2,
    ),
]


@pytest.mark.parametrize("spec", ROUND_TRIP, ids=lambda s: s.name)
def test_spec_to_yaml_and_back(write_project: WriteProject, spec: TaskSpec) -> None:
    root = write_project(STEP + spec.to_blueprint_yaml())
    project = load_project(root)
    again = blueprint_spec(project, spec.name)
    assert again == spec
    validate_task_spec(again, project.step("train"))


def test_digits_blueprints_round_trip(digits: Path, write_project: WriteProject) -> None:
    project = load_project(digits)
    steps = (digits / "valohai.yaml").read_text().split("\n# 3 learning rates")[0]
    specs = [blueprint_spec(project, name) for name in project.blueprints]
    root = write_project(steps + "\n" + "".join(s.to_blueprint_yaml() for s in specs))
    copy = load_project(root)
    assert [blueprint_spec(copy, s.name) for s in specs] == specs


def test_non_numeric_single_becomes_a_one_item_multiple(write_project: WriteProject) -> None:
    spec = TaskSpec(name="t", step="train", parameters={"act": ("single", {"value": "tanh"})})
    text = spec.to_blueprint_yaml()
    again = blueprint_spec(load_project(write_project(STEP + text)), "t")
    assert again.parameters == {"act": ("multiple", {"items": ["tanh"]})}


def test_direction_and_seed_are_kept_as_a_comment(write_project: WriteProject) -> None:
    spec = TaskSpec(name="t", step="train", direction="maximize", seed=0)
    text = spec.to_blueprint_yaml()
    assert text.startswith("# hyperstep: direction=maximize seed=0")
    again = blueprint_spec(load_project(write_project(STEP + text)), "t")
    assert (again.direction, again.seed) == (None, None)
