"""TaskSpec: JSON and REST-payload forms, and validate_task_spec's errors with their fields."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hyperstep.errors import EngineUnavailable, HyperstepError, ValidationError
from hyperstep.model import OnChildError, TaskType
from hyperstep.project import StepInfo, load_project
from hyperstep.taskspec import TaskSpec, task_spec_problems, validate_task_spec

YAML = """\
- step:
    name: train
    image: python:3.11
    command: python train.py {parameters}
    parameters:
      - {name: learning_rate, type: float, default: 0.01, min: 0.00001, max: 1}
      - {name: hidden_units, type: integer, default: 64, min: 8, max: 512}
      - {name: activation, type: string, default: relu, choices: [relu, tanh]}
      - {name: use_scaler, type: flag, default: true}
      - {name: epochs, type: integer, default: 5}
"""


@pytest.fixture
def step(tmp_path: Path) -> StepInfo:
    (tmp_path / "valohai.yaml").write_text(YAML)
    return load_project(tmp_path).step("train")


LOGUNIFORM = ("random", {"distribution": "loguniform", "min": -4, "max": -1})
BAYES = TaskSpec(
    name="bayes",
    step="train",
    type=TaskType.BAYESIAN_TPE,
    parameters={
        "learning_rate": LOGUNIFORM,
        "hidden_units": ("random", {"distribution": "integer", "min": 16, "max": 256, "step": 16}),
        "activation": ("multiple", {"items": ["relu", "tanh"]}),
    },
    execution_count=30,
    execution_batch_size=5,
    optimization_target_metric="val_accuracy",
    optimization_target_value=1.0,
    stop_condition="val_accuracy > 0.99",
)


# ---------------------------------------------------------------------------------- JSON


def test_json_round_trip() -> None:
    data = BAYES.to_json()
    assert data["type"] == "bayesian_tpe"
    assert data["on_child_error"] == "continue-and-error"
    assert data["parameters"]["learning_rate"] == {"style": LOGUNIFORM[0], "rules": LOGUNIFORM[1]}
    assert TaskSpec.from_json(data) == BAYES


@given(
    count=st.none() | st.integers(1, 10_000),
    batch=st.none() | st.integers(1, 100),
    seed=st.none() | st.integers(0, 2**31),
    target=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    direction=st.sampled_from([None, "minimize", "maximize"]),
    kind=st.sampled_from(list(TaskType)),
    on_error=st.sampled_from(list(OnChildError)),
    items=st.lists(st.integers() | st.text(max_size=5) | st.booleans(), min_size=1, max_size=4),
)
def test_json_round_trip_property(
    count: int | None,
    batch: int | None,
    seed: int | None,
    target: float | None,
    direction: str | None,
    kind: TaskType,
    on_error: OnChildError,
    items: list[Any],
) -> None:
    spec = TaskSpec(
        name="t",
        step="s",
        type=kind,
        parameters={"p": ("multiple", {"items": items})},
        parameter_sets=[{"p": items[0]}],
        execution_count=count,
        execution_batch_size=batch,
        optimization_target_value=target,
        direction=direction,
        on_child_error=on_error,
        seed=seed,
    )
    assert TaskSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"execution_count": "many"}, "execution_count"),
        ({"execution_count": True}, "execution_count"),
        ({"type": "gradient_descent"}, "type"),
        ({"on_child_error": "explode"}, "on_child_error"),
        ({"parameters": {"x": {"style": "single", "rules": None}}}, "parameters.x.rules"),
        ({"parameters": [1]}, "parameters.0"),
        ({"parameter_sets": {"a": 1}}, "parameter_sets"),
        ({"name": None}, "name"),
        ({"step": ""}, "step"),
        ({"colour": "red"}, "colour"),
        ({"optimization_target_value": "high"}, "optimization_target_value"),
    ],
)
def test_from_json_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TaskSpec.from_json({**BAYES.to_json(), **change})
    assert caught.value.field == field


# ------------------------------------------------------------------------- API payload

VALOHAI_PAYLOAD: dict[str, Any] = {
    "project": "0123",
    "commit": "abc",
    "step": "train",
    "type": "grid_search",
    "parameters": {
        "learning_rate": {"style": "logspace", "rules": {"min": -5, "max": -1, "count": 5}},
        "hidden_units": {"style": "multiple", "rules": {"items": [100, 200, 300]}},
        "epochs": {"style": "single", "rules": {"value": 3}},
    },
    "inputs": {"in1": ["http://example.com/data.csv"]},
    "configuration": {
        "execution_count": 20,
        "execution_batch_size": 10,
        "engine": "optuna",
        "optimization_target_metric": "val_loss",
        "optimization_target_value": 0.01,
    },
    "maximum_queued_executions": 3,
    "on_child_error": "stop_all_and_error",
    "task_stop_expression": "accuracy > 0.95",
    "allow_reuse": True,
    "title": "my sweep",
    "tags": ["experiment"],
}


def test_valohai_payload() -> None:
    spec = TaskSpec.from_api_payload(VALOHAI_PAYLOAD)
    assert spec == TaskSpec(
        name="my sweep",
        step="train",
        type=TaskType.GRID_SEARCH,
        parameters={
            "learning_rate": ("logspace", {"min": -5, "max": -1, "count": 5}),
            "hidden_units": ("multiple", {"items": [100, 200, 300]}),
            "epochs": ("single", {"value": 3}),
        },
        execution_count=20,
        execution_batch_size=10,
        maximum_queued_executions=3,
        optimization_target_metric="val_loss",
        optimization_target_value=0.01,
        engine="optuna",
        on_child_error=OnChildError.STOP_ALL_AND_ERROR,
        stop_condition="accuracy > 0.95",
    )


def test_payload_spellings_and_extensions() -> None:
    spec = TaskSpec.from_api_payload(
        {
            "step": "train",
            "type": "Bayesian-TPE",
            "parameters": {"learning_rate": LOGUNIFORM_PAYLOAD, "epochs": 4},
            "configuration": {"execution_count": "30", "maximum_queued_executions": 2},
            "on_child_error": "continue-and-complete",
            "stop_expression": "loss < 0.1",
            "direction": "maximize",
            "seed": 42,
        }
    )
    assert spec.type is TaskType.BAYESIAN_TPE
    assert spec.parameters["epochs"] == ("single", {"value": 4})  # a plain value
    assert spec.execution_count == 30
    assert spec.maximum_queued_executions == 2
    assert spec.on_child_error is OnChildError.CONTINUE_AND_COMPLETE
    assert spec.stop_condition == "loss < 0.1"
    assert (spec.direction, spec.seed) == ("maximize", 42)
    assert spec.name == "train bayesian_tpe"


LOGUNIFORM_PAYLOAD = {"style": LOGUNIFORM[0], "rules": LOGUNIFORM[1]}


def test_manual_search_sent_as_aligned_lists_gets_its_sets_back() -> None:
    spec = TaskSpec.from_api_payload(
        {
            "step": "train",
            "type": "manual_search",
            "parameters": {
                "learning_rate": {"style": "multiple", "rules": {"items": [0.1, 0.2]}},
                "hidden_units": {"style": "multiple", "rules": {"items": [16, 32]}},
                "epochs": {"style": "single", "rules": {"value": 2}},
            },
        }
    )
    assert spec.parameter_sets == [
        {"learning_rate": 0.1, "hidden_units": 16},
        {"learning_rate": 0.2, "hidden_units": 32},
    ]
    assert spec.parameters == {"epochs": ("single", {"value": 2})}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "grid_search"}, "step"),
        ({"step": 3}, "step"),
        ({"step": "train", "type": "annealing"}, "type"),
        ({"step": "train", "configuration": []}, "configuration"),
        (
            {"step": "train", "configuration": {"execution_count": 2.5}},
            "configuration.execution_count",
        ),
        ({"step": "train", "on_child_error": "panic"}, "on_child_error"),
        (
            {"step": "train", "parameters": {"x": {"style": "single", "rules": 3}}},
            "parameters.x.rules",
        ),
        ({"step": "train", "parameters": {"x": {"style": 1, "rules": {}}}}, "parameters.x.style"),
        ({"step": "train", "task_stop_expression": 5}, "task_stop_expression"),
    ],
)
def test_payload_errors_name_the_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TaskSpec.from_api_payload(payload)
    assert caught.value.field == field


def test_payload_must_be_an_object() -> None:
    with pytest.raises(ValidationError, match="must be a JSON object"):
        TaskSpec.from_api_payload([])  # type: ignore[arg-type]


def test_validated_payload(step: StepInfo) -> None:
    validate_task_spec(TaskSpec.from_api_payload(VALOHAI_PAYLOAD), step)


# --------------------------------------------------------------------------- validation


def test_valid_specs_pass(step: StepInfo) -> None:
    validate_task_spec(BAYES, step)
    validate_task_spec(TaskSpec(name="defaults only", step="train"), step)


def variant(name: str, style: str, **rules: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    return {**BAYES.parameters, name: (style, rules)}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"step": "other"}, "step", "'other'"),
        (
            {"parameters": variant("dropout", "single", value=0.1)},
            "parameters.dropout",
            "no parameter 'dropout'",
        ),
        (
            {"parameters": variant("hidden_units", "multiple", items=[16, 16.5])},
            "parameters.hidden_units",
            "not an integer",
        ),
        (
            {"parameters": variant("hidden_units", "multiple", items=["wide"])},
            "parameters.hidden_units",
            "not an integer",
        ),
        (
            {
                "parameters": variant(
                    "learning_rate", "random", distribution="uniform", min=0.1, max=2
                )
            },
            "parameters.learning_rate",
            "above the parameter's max",
        ),
        (
            {"parameters": variant("activation", "multiple", items=["relu", "gelu"])},
            "parameters.activation",
            "choices",
        ),
        (
            {
                "parameters": variant(
                    "learning_rate", "random", distribution="gaussian", min=0, max=1
                )
            },
            "parameters.learning_rate.rules.distribution",
            "unknown distribution",
        ),
        (
            {
                "parameters": variant(
                    "learning_rate", "random", distribution="uniform", min=0.5, max=0.1
                )
            },
            "parameters.learning_rate.rules.min",
            "greater than max",
        ),
        (
            {
                "parameters": variant(
                    "learning_rate", "random", distribution="uniform", min=0.1, max=0.5, step=-0.1
                )
            },
            "parameters.learning_rate.rules.step",
            "greater than 0",
        ),
        (
            {"parameters": variant("activation", "multiple", items=[])},
            "parameters.activation.rules.items",
            "at least one",
        ),
        (
            {"parameters": variant("activation", "fancy")},
            "parameters.activation.style",
            "unknown style",
        ),
        ({"execution_count": None}, "execution-count", "needs execution-count"),
        ({"execution_count": 0}, "execution-count", "at least 1"),
        ({"execution_batch_size": 0}, "execution-batch-size", "at least 1"),
        ({"maximum_queued_executions": -1}, "maximum-queued-executions", "at least 1"),
        ({"stop_condition": "val_accuracy >"}, "stop-condition", "not a valid expression"),
        ({"stop_condition": "a < b < c"}, "stop-condition", "simple comparisons"),
        (
            {"stop_condition": "__import__('os').system('x')"},
            "stop-condition",
            "not a valid expression",
        ),
        ({"engine": "skopt"}, "engine", "unknown engine 'skopt'"),
        ({"optimization_target_metric": None}, "optimization-target-metric", "needs the metric"),
        ({"direction": "up"}, "direction", "minimize or maximize"),
        ({"optimization_target_value": float("nan")}, "optimization-target-value", "finite"),
    ],
)
def test_invalid_specs_name_the_field(
    step: StepInfo, change: dict[str, Any], field: str, message: str
) -> None:
    spec = dataclasses.replace(BAYES, **change)
    with pytest.raises(ValidationError) as caught:
        validate_task_spec(spec, step)
    assert caught.value.field == field
    assert message in str(caught.value)


def test_random_search_needs_an_execution_count(step: StepInfo) -> None:
    spec = TaskSpec(
        name="r",
        step="train",
        type=TaskType.RANDOM_SEARCH,
        parameters={"learning_rate": LOGUNIFORM},
    )
    with pytest.raises(ValidationError, match="execution-count"):
        validate_task_spec(spec, step)
    validate_task_spec(dataclasses.replace(spec, execution_count=5), step)


def test_grid_values_are_checked_as_values(step: StepInfo) -> None:
    spec = TaskSpec(
        name="g",
        step="train",
        parameters={"learning_rate": ("logspace", {"min": -6, "max": -1, "count": 6})},
    )
    with pytest.raises(ValidationError, match="below the parameter's min") as caught:
        validate_task_spec(spec, step)
    assert caught.value.field == "parameters.learning_rate"


def test_random_style_in_a_grid_needs_a_count(step: StepInfo) -> None:
    spec = TaskSpec(name="g", step="train", parameters={"learning_rate": LOGUNIFORM})
    with pytest.raises(ValidationError) as caught:
        validate_task_spec(spec, step)
    assert caught.value.field == "parameters.learning_rate.rules.count"


MANUAL = TaskSpec(
    name="m",
    step="train",
    type=TaskType.MANUAL_SEARCH,
    parameter_sets=[
        {"learning_rate": 0.1, "activation": "relu"},
        {"learning_rate": 0.2, "activation": "tanh"},
    ],
)


def test_manual_search(step: StepInfo) -> None:
    validate_task_spec(MANUAL, step)


@pytest.mark.parametrize(
    ("sets", "field", "message"),
    [
        ([], "parameter-sets", "at least one set"),
        (
            [{"learning_rate": 0.1}, {"learning_rate": 0.2, "epochs": 3}],
            "parameter-sets.1",
            "same parameters",
        ),
        (
            [{"learning_rate": 0.1, "dropout": 0.5}],
            "parameter-sets.0.dropout",
            "no parameter 'dropout'",
        ),
        ([{"learning_rate": 3}], "parameter-sets.0.learning_rate", "above the parameter's max"),
        ([{"activation": "gelu"}], "parameter-sets.0.activation", "choices"),
        ([{"use_scaler": "yes"}], "parameter-sets.0.use_scaler", "flag"),
    ],
)
def test_invalid_parameter_sets(
    step: StepInfo, sets: list[dict[str, Any]], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_task_spec(dataclasses.replace(MANUAL, parameter_sets=sets), step)
    assert caught.value.field == field
    assert message in str(caught.value)


def test_manual_search_without_sets(step: StepInfo) -> None:
    spec = dataclasses.replace(MANUAL, parameter_sets=None)
    with pytest.raises(ValidationError, match="needs parameter-sets"):
        validate_task_spec(spec, step)


def test_a_parameter_in_both_sets_and_parameters(step: StepInfo) -> None:
    spec = dataclasses.replace(MANUAL, parameters={"learning_rate": ("single", {"value": 0.1})})
    with pytest.raises(ValidationError, match="both in parameter-sets and in parameters"):
        validate_task_spec(spec, step)


def test_parameter_sets_outside_manual_search(step: StepInfo) -> None:
    spec = dataclasses.replace(BAYES, parameter_sets=[{"learning_rate": 0.1}])
    with pytest.raises(ValidationError, match="only apply to manual_search") as caught:
        validate_task_spec(spec, step)
    assert caught.value.field == "parameter-sets"


def test_required_parameter_must_be_varied(tmp_path: Path) -> None:
    (tmp_path / "valohai.yaml").write_text(YAML + "      - {name: data, type: string}\n")
    step = load_project(tmp_path).step("train")
    with pytest.raises(ValidationError, match="requires a value") as caught:
        validate_task_spec(BAYES, step)
    assert caught.value.field == "parameters.data"
    validate_task_spec(
        dataclasses.replace(
            BAYES, parameters={**BAYES.parameters, "data": ("single", {"value": "x"})}
        ),
        step,
    )


def test_all_problems_are_listed(step: StepInfo) -> None:
    spec = dataclasses.replace(BAYES, execution_count=None, engine="nope", stop_condition="(")
    fields = [getattr(p, "field", None) for p in task_spec_problems(spec, step)]
    assert fields == ["execution-count", "engine", "stop-condition"]


def test_engine_hyperopt_when_installed(step: StepInfo) -> None:
    if importlib.util.find_spec("hyperopt") is None:
        pytest.skip("hyperopt is not installed")
    validate_task_spec(dataclasses.replace(BAYES, engine="hyperopt"), step)


def test_engine_hyperopt_when_not_installed(
    step: StepInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python's own way to make a module unimportable: a None entry in sys.modules.
    monkeypatch.setitem(sys.modules, "hyperopt", None)
    with pytest.raises(EngineUnavailable, match=r"pip install 'hyperstep\[hyperopt\]'"):
        validate_task_spec(dataclasses.replace(BAYES, engine="hyperopt"), step)
    # only a Bayesian task uses its engine
    grid = TaskSpec(name="g", step="train", engine="hyperopt")
    validate_task_spec(grid, step)


def test_engine_auto_is_always_available(step: StepInfo) -> None:
    validate_task_spec(dataclasses.replace(BAYES, engine="auto"), step)


def test_problems_are_hyperstep_errors(step: StepInfo) -> None:
    spec = dataclasses.replace(BAYES, execution_count=0)
    assert all(isinstance(p, HyperstepError) for p in task_spec_problems(spec, step))
