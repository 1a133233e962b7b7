"""parse_cli_args and resolve_values: the gate every parameter value passes before a run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hyperstep.errors import ValidationError
from hyperstep.project import StepInfo, load_project, parse_cli_args, resolve_values

WriteProject = Callable[[str], Path]

YAML = """
- step:
    name: train
    image: python:3.11
    command: python train.py {parameters}
    parameters:
      - name: learning_rate
        type: float
        default: 0.1
        min: 0.0001
        max: 1
      - name: batch-size
        type: integer
        default: 32
        min: 1
        max: 1024
      - name: optimizer
        type: string
        default: adam
        choices: [adam, sgd]
      - name: early_stopping
        type: flag
        default: true
      - name: verbose
        type: flag
      - name: layers
        type: integer
        multiple: repeat
        default: [64]
      - name: momentum
        type: float
        default: 0.9
      - name: tag
        type: string
        optional: true
      - name: data
        type: string
"""


@pytest.fixture
def step(write_project: WriteProject) -> StepInfo:
    return load_project(write_project(YAML)).step("train")


def parsed(step: StepInfo, *args: str) -> dict[str, Any]:
    return parse_cli_args(step, list(args))


# ------------------------------------------------------------------------ parse_cli_args


def test_value_forms(step: StepInfo) -> None:
    assert parsed(step, "--learning_rate=0.01", "--batch-size", "64", "--data=a=b") == {
        "learning_rate": "0.01",
        "batch-size": "64",
        "data": "a=b",
    }


def test_dash_and_underscore_are_interchangeable(step: StepInfo) -> None:
    assert parsed(step, "--learning-rate=1", "--batch_size=2", "--early-stopping") == {
        "learning_rate": "1",
        "batch-size": "2",
        "early_stopping": True,
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--verbose"], True),
        (["--no-verbose"], False),
        (["--no_verbose"], False),
        (["--verbose=true"], True),
        (["--verbose=false"], False),
        (["--verbose=yes"], True),
        (["--verbose=no"], False),
        (["--verbose=1"], True),
        (["--verbose=0"], False),
        (["--verbose=FALSE"], False),
    ],
)
def test_flag_forms(step: StepInfo, args: list[str], expected: bool) -> None:
    assert parsed(step, *args) == {"verbose": expected}


def test_flag_does_not_swallow_the_next_argument(step: StepInfo) -> None:
    assert parsed(step, "--verbose", "--data", "x") == {"verbose": True, "data": "x"}


def test_bad_flag_value(step: StepInfo) -> None:
    with pytest.raises(ValidationError, match="'maybe' is not a flag value") as caught:
        parsed(step, "--verbose=maybe")
    assert caught.value.field == "parameters.verbose"


def test_multiple_accepts_repeats_and_a_single_value(step: StepInfo) -> None:
    assert parsed(step, "--layers=1", "--layers", "2") == {"layers": ["1", "2"]}
    assert parsed(step, "--layers=8") == {"layers": ["8"]}


def test_unknown_parameter_lists_the_known_ones(step: StepInfo) -> None:
    with pytest.raises(ValidationError) as caught:
        parsed(step, "--learnig_rate=0.1")
    assert caught.value.field == "parameters.learnig_rate"
    assert "no parameter --learnig_rate" in str(caught.value)
    assert "--learning_rate, --batch-size" in str(caught.value)


def test_no_prefix_only_applies_to_flags(step: StepInfo) -> None:
    with pytest.raises(ValidationError, match="no parameter --no-data"):
        parsed(step, "--no-data")


def test_missing_value(step: StepInfo) -> None:
    with pytest.raises(ValidationError, match="--data expects a value"):
        parsed(step, "--data")
    with pytest.raises(ValidationError, match="--data expects a value"):
        parsed(step, "--data", "--verbose")


def test_positional_argument_is_refused(step: StepInfo) -> None:
    with pytest.raises(ValidationError, match="unexpected argument 'train'"):
        parsed(step, "train")


def test_single_value_given_twice(step: StepInfo) -> None:
    with pytest.raises(ValidationError, match="more than once"):
        parsed(step, "--data=a", "--data=b")


def test_ambiguous_spelling(write_project: WriteProject) -> None:
    step = load_project(
        write_project(
            """
            - step:
                name: s
                image: x
                command: run {parameters}
                parameters:
                  - {name: a-b, type: integer, default: 1}
                  - {name: a_b, type: integer, default: 2}
            """
        )
    ).step("s")
    # an exact name always wins over the - / _ equivalence
    assert parsed(step, "--a_b=5", "--a-b=6") == {"a_b": "5", "a-b": "6"}
    step2 = load_project(
        write_project(
            """
            - step:
                name: s
                image: x
                command: run {parameters}
                parameters:
                  - {name: x-y_z, type: integer, default: 1}
                  - {name: x_y-z, type: integer, default: 2}
            """
        )
    ).step("s")
    with pytest.raises(ValidationError, match="ambiguous"):
        parsed(step2, "--x-y-z=3")


# ------------------------------------------------------------------------ resolve_values


def test_defaults_fill_everything_not_given(step: StepInfo) -> None:
    assert resolve_values(step, {"data": "d"}) == {
        "learning_rate": 0.1,
        "batch-size": 32,
        "optimizer": "adam",
        "early_stopping": True,  # a flag default, which valohai-yaml ignores at build time
        "verbose": False,
        "layers": [64],
        "momentum": 0.9,
        "data": "d",
    }


def test_cli_strings_are_coerced(step: StepInfo) -> None:
    values = resolve_values(
        step,
        parsed(
            step,
            "--learning_rate=0.01",
            "--batch-size=5",
            "--layers=1",
            "--layers=2",
            "--no-early_stopping",
            "--data",
            "x",
            "--tag=t",
        ),
    )
    assert values["learning_rate"] == 0.01
    assert values["batch-size"] == 5
    assert values["layers"] == [1, 2]
    assert values["early_stopping"] is False
    assert values["tag"] == "t"


def test_integral_floats_are_integers(step: StepInfo) -> None:
    assert resolve_values(step, {"data": "d", "batch-size": 64.0})["batch-size"] == 64


def test_numbers_for_string_parameters_become_text(step: StepInfo) -> None:
    assert resolve_values(step, {"data": 5})["data"] == "5"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("batch-size", "5.5", "5.5 is not an integer"),
        ("batch-size", True, "True is not an integer"),
        ("batch-size", "", "No value supplied"),
        ("learning_rate", "fast", "fast is not a floating-point number"),
        ("learning_rate", 2, "2.0 is greater than the maximum allowed (1)"),
        ("learning_rate", "0.00001", "is less than the minimum allowed (0.0001)"),
        ("momentum", "inf", "inf is not a finite number"),
        ("momentum", "-inf", "-inf is not a finite number"),
        ("momentum", "nan", "nan is not a finite number"),
        ("optimizer", "rmsprop", "rmsprop is not among the choices allowed (['adam', 'sgd'])"),
        ("learning_rate", [0.1, 0.2], "Only a single value is allowed"),
        ("layers", [1, "x"], "x is not an integer"),
        ("verbose", "perhaps", "'perhaps' is not a flag value"),
    ],
)
def test_invalid_values_get_valohai_yaml_messages(
    step: StepInfo, name: str, value: Any, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        resolve_values(step, {"data": "d", name: value})
    assert caught.value.field == f"parameters.{name}"
    assert message in str(caught.value)


def test_required_parameter_without_value(step: StepInfo) -> None:
    with pytest.raises(ValidationError, match="requires a value for 'data'") as caught:
        resolve_values(step, {})
    assert caught.value.field == "parameters.data"


def test_optional_parameter_without_value_is_left_out(step: StepInfo) -> None:
    assert "tag" not in resolve_values(step, {"data": "d"})


def test_unknown_parameter(step: StepInfo) -> None:
    with pytest.raises(ValidationError, match="no parameter 'dropout'") as caught:
        resolve_values(step, {"data": "d", "dropout": 0.5})
    assert caught.value.field == "parameters.dropout"


@pytest.mark.parametrize("value", ["a\x00b", ["ok", "no\x00"]])
def test_nul_bytes_are_refused(write_project: WriteProject, value: Any) -> None:
    step = load_project(
        write_project(
            """
            - step:
                name: s
                image: x
                command: run {parameters}
                parameters:
                  - {name: text, type: string, multiple: separate}
            """
        )
    ).step("s")
    with pytest.raises(ValidationError, match="NUL byte") as caught:
        resolve_values(step, {"text": value})
    assert caught.value.field == "parameters.text"


def test_nul_in_a_single_string(step: StepInfo) -> None:
    with pytest.raises(ValidationError, match="NUL byte"):
        resolve_values(step, {"data": "x\x00y"})
