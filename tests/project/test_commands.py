"""build_command: valohai-yaml's interpolation, and what really reaches the program's argv.

Each command is run the way executions run (``/bin/sh -c`` in the project folder) with a tiny
program that prints its argv, so the assertions are about what the shell actually passed.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperstep.errors import ValidationError
from hyperstep.project import StepInfo, build_command, load_project, resolve_values
from hyperstep.project.commands import quoted_placeholders

WriteProject = Callable[[str], Path]

PY = shlex.quote(sys.executable)

YAML = f"""
- step:
    name: dump
    image: python:3.11
    command: {PY} dump_argv.py {{parameters}}
    parameters:
      - name: text
        type: string
        default: hello
      - name: n
        type: integer
        default: 3
      - name: fast
        type: flag
        default: true
      - name: slow
        type: flag
- step:
    name: bare
    image: python:3.11
    command:
      - echo first
      - {PY} dump_argv.py {{parameter-value:text}} {{parameter:words}}
    parameters:
      - name: text
        type: string
      - name: words
        type: string
        multiple: repeat
        pass-as: --word {{v}}
"""

NASTY = [
    "; rm -rf ~",
    "$(touch PWNED)",
    "`touch PWNED`",
    "'; touch PWNED; '",
    '"; touch PWNED; "',
    "a\nb\ntouch PWNED",
    "--help",
    "-- x",
    "with spaces  and\ttabs",
    "ünïcødé ☃ 日本語",
    "$HOME ${PATH} \\ \\n",
    "|| touch PWNED &",
    "*",
    "",
]


def run(command: str, cwd: Path) -> list[str]:
    """Run ``command`` as executions are run and return the argv the program received."""
    result = subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONUTF8": "1"},
    )
    lines = result.stdout.strip().splitlines()
    argv: list[str] = json.loads(lines[-1])
    return argv


@pytest.fixture
def project_root(write_project: WriteProject) -> Path:
    return write_project(YAML)


def step_of(root: Path, name: str) -> StepInfo:
    return load_project(root).step(name)


def test_defaults_and_flags(project_root: Path) -> None:
    step = step_of(project_root, "dump")
    command = build_command(step, resolve_values(step, {}))
    assert command == f"{PY} dump_argv.py --text=hello --n=3 --fast"
    assert run(command, project_root) == ["--text=hello", "--n=3", "--fast"]


def test_false_flag_is_left_out(project_root: Path) -> None:
    step = step_of(project_root, "dump")
    values = resolve_values(step, {"fast": False, "slow": True})
    assert run(build_command(step, values), project_root) == ["--text=hello", "--n=3", "--slow"]


def test_commands_are_joined_with_and(project_root: Path) -> None:
    step = step_of(project_root, "bare")
    command = build_command(step, resolve_values(step, {"text": "x", "words": ["a", "b"]}))
    assert command == f"echo first && {PY} dump_argv.py x --word a --word b"


@pytest.mark.parametrize("value", NASTY)
def test_a_value_is_one_literal_argument(project_root: Path, value: str) -> None:
    step = step_of(project_root, "dump")
    command = build_command(step, resolve_values(step, {"text": value}))
    assert run(command, project_root) == [f"--text={value}", "--n=3", "--fast"]
    assert not (project_root / "PWNED").exists()


@pytest.mark.parametrize("value", NASTY)
def test_bare_value_and_split_pass_as(project_root: Path, value: str) -> None:
    step = step_of(project_root, "bare")
    values = resolve_values(step, {"text": value, "words": [value, "x y"]})
    assert run(build_command(step, values), project_root) == [
        value,
        "--word",
        value,
        "--word",
        "x y",
    ]
    assert not (project_root / "PWNED").exists()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    value=st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=40,
    )
)
def test_any_text_reaches_argv_unchanged(project_root: Path, value: str) -> None:
    step = step_of(project_root, "dump")
    command = build_command(step, resolve_values(step, {"text": value}))
    assert run(command, project_root)[0] == f"--text={value}"
    assert not (project_root / "PWNED").exists()


def test_nul_is_refused_even_without_resolve(project_root: Path) -> None:
    step = step_of(project_root, "dump")
    with pytest.raises(ValidationError, match="NUL"):
        build_command(step, {"text": "a\x00b"})


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ('echo "{parameters}"', "double quotes"),
        ("echo '{parameter:x}'", "single quotes"),
        ("echo `echo {params}`", "backticks"),
        ("echo $(echo {parameter-value:x})", "$(...)"),
        ('echo "$(echo {parameters})"', "$(...)"),
        ('echo $(echo "{parameters}")', "double quotes"),
        ("echo $((1 + {parameter-value:n}))", "$(...)"),
        ('echo "a" && echo "{parameters}', "double quotes"),
        ("echo 'it''s {parameters}'", "single quotes"),
    ],
)
def test_quoted_placeholders_are_found(template: str, context: str) -> None:
    found = quoted_placeholders(template)
    assert [f.context for f in found] == [context]


@pytest.mark.parametrize(
    "template",
    [
        "python train.py {parameters}",
        'echo "a" {parameters} "b"',
        "echo 'a' {parameter:x} $(date) `date`",
        'echo \\"{parameters}',
        "echo ${HOME} {shell}",
        "# echo '{parameters}'\npython t.py {parameters}",
        'echo "it\'s" {parameters}',
        "echo $(date) {params}",
    ],
)
def test_bare_placeholders_are_not_flagged(template: str) -> None:
    assert quoted_placeholders(template) == []


def test_line_offset_of_a_quoted_placeholder() -> None:
    (found,) = quoted_placeholders('set -e\necho ok\necho "{parameters}"\n')
    assert found.line_offset == 2
    assert found.placeholder == "{parameters}"


def test_quoting_breaks_for_real_when_a_placeholder_is_quoted(write_project: WriteProject) -> None:
    """Why lint refuses it: the same value escapes a double-quoted placeholder."""
    root = write_project(
        f"""
        - step:
            name: s
            image: x
            command: {PY} dump_argv.py "{{parameter-value:text}}"
            parameters:
              - name: text
        """
    )
    step = load_project(root).step("s")
    values: dict[str, Any] = resolve_values(step, {"text": 'x"; touch PWNED; "'})
    # valohai-yaml builds it, and the value runs as shell code ...
    raw = " && ".join(step.vh.build_command(dict(values)))
    subprocess.run(["/bin/sh", "-c", raw], cwd=root, check=False)
    assert (root / "PWNED").exists()
    (root / "PWNED").unlink()
    # ... so hyperstep refuses to build it at all.
    with pytest.raises(ValidationError, match="inside double quotes"):
        build_command(step, values)
    assert not (root / "PWNED").exists()
