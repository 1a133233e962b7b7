"""load_project: valohai-yaml's parsing, typed views, and errors that name the file and line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hyperstep.errors import ConfigError, NotFoundError
from hyperstep.project import ParamInfo, load_project

WriteProject = Callable[[str], Path]

STEP = """
- step:
    name: train
    image: python:3.11
    command: python train.py {parameters}
    parameters:
      - name: lr
        type: float
        default: 0.1
        min: 0
        max: 1
      - name: layers
        type: integer
        multiple: repeat
        default: [1, 2]
      - name: verbose
        type: flag
      - name: note
        optional: true
"""


def test_loads_steps_parameters_and_blueprints_of_the_digits_example(digits: Path) -> None:
    project = load_project(digits)
    assert project.root == digits
    assert project.config_path == digits / "valohai.yaml"
    assert list(project.steps) == ["train", "train-utils"]
    train = project.step("train")
    assert train.image == "python:3.11"
    assert train.command == ["python train.py {parameters}"]
    assert {p.name: p.type for p in train.parameters.values()} == {
        "learning_rate": "float",
        "hidden_units": "integer",
        "activation": "string",
        "optimizer": "string",
        "epochs": "integer",
        "use_scaler": "flag",
        "seed": "integer",
    }
    assert train.parameters["activation"].choices == ["relu", "tanh", "logistic"]
    assert train.parameters["hidden_units"].min == 8
    assert train.parameters["use_scaler"].default is True
    assert set(project.blueprints) == {
        "digits-grid",
        "digits-random",
        "digits-bayes",
        "digits-manual",
    }
    assert project.blueprint("digits-bayes").execution_count == 50
    assert project.line_of("task", "digits-bayes") is not None


def test_param_info_reflects_valohai_yaml_normalisation(write_project: WriteProject) -> None:
    params = load_project(write_project(STEP)).step("train").parameters
    assert params["lr"] == ParamInfo(
        name="lr",
        type="float",
        default=0.1,
        optional=False,
        min=0,
        max=1,
        choices=None,
        multiple=None,
        description=None,
        vh=params["lr"].vh,
    )
    assert params["layers"].multiple == "repeat"
    assert params["layers"].default == [1, 2]
    assert params["verbose"].optional is True  # flags are always optional
    assert params["verbose"].choices is None
    assert params["note"].type == "string"  # valohai-yaml's default type
    assert not params["note"].required
    assert not params["lr"].required


def test_unknown_step_lists_the_known_ones(write_project: WriteProject) -> None:
    project = load_project(write_project(STEP))
    with pytest.raises(NotFoundError, match=r"no step named 'trian' \(known steps: 'train'\)"):
        project.step("trian")
    with pytest.raises(NotFoundError, match="no task blueprint named 'x'"):
        project.blueprint("x")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found") as caught:
        load_project(tmp_path)
    assert caught.value.path == str(tmp_path / "valohai.yaml")
    assert caught.value.line is None


def test_another_config_name(write_project: WriteProject) -> None:
    root = write_project(STEP)
    (root / "valohai.yaml").rename(root / "other.yaml")
    assert list(load_project(root, config="other.yaml").steps) == ["train"]


def test_yaml_syntax_error_names_the_line(write_project: WriteProject) -> None:
    root = write_project(
        """
        - step:
            name: train
            image: python:3.11
              command: python train.py
        """
    )
    with pytest.raises(ConfigError, match="invalid YAML") as caught:
        load_project(root)
    assert caught.value.line == 4
    assert str(caught.value).startswith(f"{root / 'valohai.yaml'}:4: ")


def test_not_a_list(write_project: WriteProject) -> None:
    root = write_project("step:\n  name: train\n")
    with pytest.raises(ConfigError, match="must be a YAML list") as caught:
        load_project(root)
    assert caught.value.line == 1


def test_non_utf8_file(tmp_path: Path) -> None:
    (tmp_path / "valohai.yaml").write_bytes(b"- step:\n    name: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_project(tmp_path)


def test_unknown_key_is_a_schema_error_on_its_line(write_project: WriteProject) -> None:
    root = write_project(
        """
        - step:
            name: train
            image: python:3.11
            command: python train.py
            parameters:
              - name: lr
                type: float
                defualt: 0.1
        """
    )
    with pytest.raises(ConfigError, match="'defualt' was unexpected") as caught:
        load_project(root)
    assert caught.value.line == 6  # the parameter item holding the unknown key
    assert "0.step.parameters.0" in str(caught.value)


def test_wrong_parameter_type_is_a_schema_error(write_project: WriteProject) -> None:
    root = write_project(
        """
        - step:
            name: train
            image: python:3.11
            command: python train.py
            parameters:
              - name: lr
                type: floaty
        """
    )
    with pytest.raises(ConfigError, match="'floaty' is not one of") as caught:
        load_project(root)
    assert caught.value.line == 7


def test_several_schema_errors_are_all_reported(write_project: WriteProject) -> None:
    root = write_project(
        """
        - step:
            name: train
            image: 3
            command: python train.py
        - step:
            name: other
            command: true
        """
    )
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    message = str(caught.value)
    assert "3 is not of type 'string'" in message
    assert "'image' is a required property" in message
    assert "and 2 more" in message


def test_error_raised_while_parsing_names_the_item(write_project: WriteProject) -> None:
    root = write_project(
        STEP
        + """
- task:
    name: sweep
    step: train
    type: fancy_search
    parameters: []
"""
    )
    with pytest.raises(ConfigError, match="fancy_search") as caught:
        load_project(root)
    assert caught.value.line == 20


def test_empty_file_is_an_empty_project(write_project: WriteProject) -> None:
    project = load_project(write_project(""))
    assert project.steps == {}
    with pytest.raises(NotFoundError, match=r"known steps: none"):
        project.step("train")


def test_values_valohai_yaml_cannot_parse_are_config_errors(write_project: WriteProject) -> None:
    root = write_project(
        """
        - step:
            name: ok
            image: x
            command: run
        - step:
            name: forever
            image: x
            command: run
            time-limit: 1000000000000000000000000000000
        """
    )
    with pytest.raises(ConfigError, match="cannot be parsed") as caught:
        load_project(root)
    assert caught.value.line == 5


def test_a_task_needs_parameters_or_sets(write_project: WriteProject) -> None:
    root = write_project(STEP + "- task: {name: t, step: train}\n")
    with pytest.raises(ConfigError, match="'parameters' or 'parameter-sets' is required"):
        load_project(root)
