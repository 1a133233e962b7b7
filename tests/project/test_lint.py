"""lint: valohai-yaml's verdict on the corpus, plus hyperstep's own checks with their lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hyperstep.project import LintMessage, lint

WriteProject = Callable[[str], Path]

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus" / "valohai-yaml"


def corpus_files(kind: str) -> list[pytest.param]:
    folder = CORPUS / kind
    if not folder.is_dir():
        return [
            pytest.param(
                None,
                marks=pytest.mark.skip(reason=f"valohai-yaml corpus not found at {folder}"),
                id=f"{kind}-missing",
            )
        ]
    return [pytest.param(path, id=path.name) for path in sorted(folder.glob("*.yaml"))]


def line_of(root: Path, needle: str) -> int:
    """The 1-based line of the first line of root/valohai.yaml that contains ``needle``."""
    for number, text in enumerate((root / "valohai.yaml").read_text().splitlines(), 1):
        if needle in text:
            return number
    raise AssertionError(f"{needle!r} not in the file")


def errors(messages: list[LintMessage]) -> list[LintMessage]:
    return [m for m in messages if m.level == "error"]


def warnings(messages: list[LintMessage]) -> list[LintMessage]:
    return [m for m in messages if m.level == "warning"]


# ------------------------------------------------------------------------------- corpus


@pytest.mark.parametrize("path", corpus_files("examples") + corpus_files("valid"))
def test_corpus_accepted_files_have_no_errors(path: Path) -> None:
    assert errors(lint(path)) == []


@pytest.mark.parametrize("path", corpus_files("error"))
def test_corpus_error_files_have_errors(path: Path) -> None:
    assert errors(lint(path))


@pytest.mark.parametrize("path", corpus_files("warning"))
def test_corpus_warning_files_have_warnings(path: Path) -> None:
    assert warnings(lint(path))


def test_digits_example_is_clean(digits: Path) -> None:
    assert lint(digits / "valohai.yaml") == []


# ---------------------------------------------------------------------- file-level errors


def test_missing_file(tmp_path: Path) -> None:
    (message,) = lint(tmp_path / "valohai.yaml")
    assert message.level == "error"
    assert "file not found" in message.message


def test_yaml_syntax_error_has_its_line(write_project: WriteProject) -> None:
    root = write_project("- step:\n    name: a\n   image: b\n")
    (message,) = lint(root / "valohai.yaml")
    assert (message.level, message.line) == ("error", 3)
    assert "invalid YAML" in message.message


def test_not_a_list(write_project: WriteProject) -> None:
    (message,) = lint(write_project("just text\n") / "valohai.yaml")
    assert "must be a YAML list" in message.message
    assert "not a str" in message.message


def test_empty_file_is_fine(write_project: WriteProject) -> None:
    assert lint(write_project("") / "valohai.yaml") == []


def test_schema_errors_have_lines_and_no_colours(write_project: WriteProject) -> None:
    root = write_project(
        """
        - step:
            name: a
            image: b
            command: c
            parameters:
              - name: x
                type: integer
                maximum: 3
        """
    )
    (message,) = lint(root / "valohai.yaml")
    assert message.level == "error"
    assert message.line == 6
    assert "'maximum' was unexpected" in message.message
    assert "\x1b" not in message.message


def test_valohai_yaml_lint_warnings_pass_through(write_project: WriteProject) -> None:
    root = write_project(
        """
        - step:
            name: a
            image: b
            command: c
            parameters:
              - name: x
                type: integer
                default: 50
                max: 10
        """
    )
    (message,) = lint(root / "valohai.yaml")
    assert message.level == "warning"
    assert "default 50 is greater than the maximum allowed (10)" in message.message
    assert message.line == 1


# ------------------------------------------------------------------------- blueprints

STEP = """
- step:
    name: train
    image: python:3.11
    command: python train.py {parameters}
    parameters:
      - name: lr
        type: float
        default: 0.1
        min: 0.00001
        max: 1
      - name: units
        type: integer
        default: 32
      - name: act
        type: string
        default: relu
        choices: [relu, tanh]
      - name: scale
        type: flag
"""


def lint_text(write_project: WriteProject, text: str) -> tuple[list[LintMessage], Path]:
    root = write_project(STEP + text)
    return lint(root / "valohai.yaml"), root


def test_blueprint_naming_a_missing_step(write_project: WriteProject) -> None:
    messages, root = lint_text(
        write_project,
        """
- task:
    name: sweep
    step: trian
    parameters: []
""",
    )
    (message,) = errors(messages)
    assert "task 'sweep': step 'trian' does not exist (known steps: 'train')" in message.message
    assert message.line == line_of(root, "step: trian")


def test_blueprint_naming_a_missing_parameter(write_project: WriteProject) -> None:
    (message,), root = lint_text(
        write_project,
        """
- task:
    name: sweep
    step: train
    parameters:
      - name: lr
        style: multiple
        rules: {items: [0.1]}
      - name: dropout
        style: multiple
        rules: {items: [0.1, 0.2]}
""",
    )
    assert message.level == "error"
    assert (
        "step 'train' has no parameter 'dropout' (known: lr, units, act, scale)" in message.message
    )
    assert message.line == line_of(root, "name: dropout")


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("{name: lr, style: multiple, rules: {items: [0.1, 5]}}", "above the parameter's max"),
        ("{name: lr, style: logspace, rules: {min: -7, max: -1, count: 4}}", "below"),
        ("{name: units, style: multiple, rules: {items: [8, 8.5]}}", "not an integer"),
        ("{name: act, style: multiple, rules: {items: [relu, gelu]}}", "choices"),
        ("{name: scale, style: multiple, rules: {items: [1.5]}}", "flag"),
    ],
)
def test_blueprint_values_must_fit_the_parameter(
    write_project: WriteProject, variant: str, expected: str
) -> None:
    messages, root = lint_text(
        write_project,
        f"""
- task:
    name: sweep
    step: train
    parameters:
      - {variant}
""",
    )
    (message,) = errors(messages)
    assert message.message.startswith("task 'sweep': parameters.")
    assert expected in message.message
    assert message.line == line_of(root, variant)


def test_bad_rule_is_reported_on_the_rule_line(write_project: WriteProject) -> None:
    messages, root = lint_text(
        write_project,
        """
- task:
    name: bayes
    step: train
    type: bayesian_tpe
    execution-count: 30
    optimization-target-metric: acc
    parameters:
      - name: lr
        style: random
        rules:
          distribution: loguniform
          min: -1
          max: -5
""",
    )
    (message,) = errors(messages)
    assert "parameters.lr.rules.min" in message.message
    assert message.line == line_of(root, "min: -1")


def test_manual_search_sets_are_checked(write_project: WriteProject) -> None:
    messages, _ = lint_text(
        write_project,
        """
- task:
    name: manual
    step: train
    type: manual_search
    parameter-sets:
      - {lr: 0.1, units: 8}
      - {lr: 3, units: 8}
      - {lr: 0.1, units: 8, dropout: 0.5}
""",
    )
    texts = [m.message for m in errors(messages)]
    assert any("parameter-sets.1.lr" in t and "above the parameter's max" in t for t in texts)
    assert any("parameter-sets.2" in t and "same parameters" in t for t in texts)
    assert any("parameter-sets.2.dropout" in t and "no parameter 'dropout'" in t for t in texts)


def test_what_hyperstep_cannot_run_is_a_warning(write_project: WriteProject) -> None:
    messages, _ = lint_text(
        write_project,
        """
- task:
    name: bayes
    step: train
    type: bayesian_tpe
    parameters:
      - {name: act, style: multiple, rules: {items: [relu, tanh]}}
- task:
    name: dist
    step: train
    type: distributed
    parameters: []
""",
    )
    assert errors(messages) == []
    texts = [m.message for m in warnings(messages)]
    assert any("execution-count" in t for t in texts)
    assert any("optimization-target-metric" in t for t in texts)
    assert any("does not run distributed tasks" in t for t in texts)


def test_bad_stop_condition_comes_from_valohai_yaml(write_project: WriteProject) -> None:
    messages, _ = lint_text(
        write_project,
        """
- task:
    name: sweep
    step: train
    stop-condition: "acc >"
    parameters: []
""",
    )
    (message,) = errors(messages)
    assert "`stop-condition` is not a valid expression" in message.message


# --------------------------------------------------------------------------- commands


def command_step(command: str, param_type: str = "string", extra: str = "") -> str:
    return f"""
- step:
    name: s
    image: x
    command: {command}
    parameters:
      - name: x
        type: {param_type}
        default: "1"
{extra}
"""


def test_quoted_string_placeholder_is_an_error(write_project: WriteProject) -> None:
    root = write_project(command_step("""'echo "{parameter:x}"'"""))
    (message,) = lint(root / "valohai.yaml")
    assert message.level == "error"
    assert "{parameter:x} is inside double quotes" in message.message
    assert "'x'" in message.message
    assert message.line == 4


def test_quoted_placeholder_in_a_block_command_has_its_own_line(
    write_project: WriteProject,
) -> None:
    root = write_project(
        """
        - step:
            name: s
            image: x
            command: |
              set -e
              echo `echo {parameters}`
            parameters:
              - name: x
        """
    )
    (message,) = lint(root / "valohai.yaml")
    assert "inside backticks" in message.message
    assert message.line == 6


def test_quoted_number_placeholder_is_harmless(write_project: WriteProject) -> None:
    root = write_project(command_step("""'echo "{parameter:x}" "{parameters}"'""", "integer"))
    assert lint(root / "valohai.yaml") == []


def test_quoted_placeholder_of_plain_choices_is_harmless(write_project: WriteProject) -> None:
    root = write_project(
        command_step("""'echo "{parameter-value:x}"'""", "string", "        choices: ['1', '2']")
    )
    assert lint(root / "valohai.yaml") == []


def test_quoted_placeholder_of_choices_needing_quotes_is_an_error(
    write_project: WriteProject,
) -> None:
    root = write_project(
        command_step("""'echo "{parameter-value:x}"'""", "string", "        choices: ['1', 'a b']")
    )
    assert errors(lint(root / "valohai.yaml"))


def test_quoted_parameters_placeholder_names_the_risky_ones(write_project: WriteProject) -> None:
    quoted = STEP.replace("python train.py {parameters}", """'sh -c "run {parameters}"'""")
    # numbers, a flag and plain choices: nothing to break
    assert lint(write_project(quoted) / "valohai.yaml") == []
    with_text = quoted + "      - name: note\n        type: string\n"
    (message,) = lint(write_project(with_text) / "valohai.yaml")
    assert message.level == "error"
    assert "the value of 'note' is shell-quoted" in message.message


def test_placeholder_naming_no_parameter_is_a_warning(write_project: WriteProject) -> None:
    root = write_project(command_step("run {parameter:y} {parameter-value:x}"))
    (message,) = lint(root / "valohai.yaml")
    assert message.level == "warning"
    assert "{parameter:y} names no parameter" in message.message
