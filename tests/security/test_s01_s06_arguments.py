"""S1, S2, S3 (command-line half), S6: a parameter value is data, never shell code or an option.

S1. Hostile values reach the program as one argv element equal to ``--text=<value>``, through
the real engine (one manual-search task running every value), and for 500 generated values
through the exact command hyperstep builds, run by ``/bin/sh -c`` as the runner runs it. The
canary file PWNED is never created.

S2. A template that puts a placeholder inside quotes, backticks or ``$(…)`` defeats the quoting;
``hyperstep lint`` refuses it, and so must every command that would run it.

S3. A NUL byte (which no process argument can carry) is refused before anything is stored or
started, from a blueprint and from ``task create``; so must be a lone surrogate, which no
store and no argv can hold either.

S6. A value starting with ``-`` passed as a positional argument after ``--`` stays a positional;
``--name=value`` keeps it in one token. A bare positional placeholder without ``--`` in front
lets the program read such a value as an option: lint should say so.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperstep.errors import ValidationError
from hyperstep.project import build_command, lint, load_project, resolve_values
from hyperstep.service import context, create_execution

HOSTILE = [
    "; rm -rf ~",
    "$(touch PWNED)",
    "`touch PWNED`",
    "| touch PWNED",
    "&& touch PWNED",
    "a\nb\ntouch PWNED",
    "it's \"quoted\" 'twice'",
    "*",
    "-",
    "--",
    "--output=x",
    "  spaces  and\ttabs ",
    "emoji 🙂 and ünïcødé",
    "\u202eRTL mark\u200f",
    "$HOME ${PATH} $((1+1))",
    "\\ backslash \\n",
    "x" * 100_000,
]

ARGV_STEP = """
- step:
    name: argv
    image: python:3.11
    command: {python} {programs}/dump_argv.py {parameters}
    parameters:
      - name: text
        type: string
        default: hello
"""


def _manual_task(values: list[str]) -> str:
    blueprint = [
        {
            "task": {
                "name": "hostile",
                "step": "argv",
                "type": "manual_search",
                "execution-batch-size": 4,
                "parameter-sets": [{"text": v} for v in values],
            }
        }
    ]
    return ARGV_STEP + yaml.safe_dump(blueprint, allow_unicode=True, width=10**7)


def test_hostile_values_reach_the_program_as_one_argument(sec_project) -> None:
    project = sec_project(_manual_task(HOSTILE))
    res = project.cli("task", "run", "hostile", "--json")
    assert res.returncode == 0, res
    listed = project.cli("exec", "list", "--task", "1", "--limit", "100", "--json").json()
    by_index = {e["task_index"]: e for e in listed}
    for index, value in enumerate(HOSTILE):
        argv = by_index[index]["cumulative_metadata"]["argv"]
        assert argv == [f"--text={value}"], (index, value[:80])
        assert shlex.split(shlex.join(argv)) == argv
    assert not list(project.root.rglob("PWNED"))


SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
    max_size=200,
)


@pytest.fixture(scope="module")
def printf_step(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("printf")
    (root / "valohai.yaml").write_text(
        "- step:\n"
        "    name: p\n"
        "    image: x\n"
        "    command: printf '%s\\0' {parameters}\n"
        "    parameters:\n"
        "      - name: text\n"
        "        type: string\n"
        "        default: a\n"
    )
    return load_project(root).step("p")


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=SAFE_TEXT)
def test_any_text_survives_the_shell_as_one_argument(printf_step, value: str) -> None:
    command = build_command(printf_step, resolve_values(printf_step, {"text": value}))
    with tempfile.TemporaryDirectory() as cwd:
        out = subprocess.run(["/bin/sh", "-c", command], cwd=cwd, capture_output=True, check=True)
        assert not (Path(cwd) / "PWNED").exists()
    assert out.stdout.split(b"\0")[:-1] == [f"--text={value}".encode()]


UNSAFE_TEMPLATES = {
    "double quotes": 'echo "x={parameter-value:v}" > out.txt',
    "backticks": "echo `echo {parameter-value:v}` > out.txt",
    "command substitution": "echo $(echo {parameter-value:v}) > out.txt",
}


def _unsafe(sec_project, template: str):
    return sec_project(
        "- step:\n"
        "    name: s\n"
        "    image: x\n"
        f"    command: {yaml.safe_dump(template).splitlines()[0]}\n"
        "    parameters:\n"
        "      - name: v\n"
        "        type: string\n"
        "        default: hello\n"
    )


@pytest.mark.parametrize("context_name", list(UNSAFE_TEMPLATES))
def test_lint_refuses_a_placeholder_inside_shell_quoting(sec_project, context_name: str) -> None:
    project = _unsafe(sec_project, UNSAFE_TEMPLATES[context_name])
    errors = [m for m in lint(project.root / "valohai.yaml") if m.level == "error"]
    assert errors and errors[0].line == 4, errors


@pytest.mark.parametrize("context_name", list(UNSAFE_TEMPLATES))
def test_running_a_template_with_a_quoted_placeholder_is_refused(
    sec_project, context_name: str
) -> None:
    project = _unsafe(sec_project, UNSAFE_TEMPLATES[context_name])
    res = project.cli("exec", "run", "s", "--v=$(touch PWNED)")
    assert not list(project.root.rglob("PWNED"))
    assert res.returncode == 2, res
    assert "valohai.yaml:4" in res.stderr and "column" in res.stderr


NUL_BLUEPRINT = ARGV_STEP + (
    "- task:\n"
    "    name: nul\n"
    "    step: argv\n"
    "    type: manual_search\n"
    '    parameter-sets: [{text: "a\\0b"}]\n'
)


@pytest.mark.parametrize("how", ["blueprint", "task create"])
def test_nul_byte_is_refused_before_anything_runs(sec_project, how: str) -> None:
    project = sec_project(NUL_BLUEPRINT)
    res = _nul_task(project, how)
    assert res.returncode == 2, res
    assert "parameters.text: the value contains a NUL byte" in res.stderr
    assert not (project.root / ".hyperstep" / "executions").exists()
    assert project.cli("exec", "list", "--json").json() == []


@pytest.mark.parametrize("how", ["blueprint", "task create"])
def test_nul_byte_leaves_no_task_behind(sec_project, how: str) -> None:
    project = sec_project(NUL_BLUEPRINT)
    assert _nul_task(project, how).returncode == 2
    assert project.cli("task", "list", "--json").json() == []


def _nul_task(project, how: str):
    if how == "blueprint":
        return project.cli("task", "run", "nul")
    return project.cli(
        "task", "create", "argv", "--type", "manual_search",
        "--parameter-set", '{"text": "a\\u0000b"}',
    )  # fmt: skip


def test_lone_surrogate_is_refused_like_nul(sec_project) -> None:
    project = sec_project(ARGV_STEP)
    with context(project.root) as ctx:
        with pytest.raises(ValidationError, match="text"):
            create_execution(ctx, "argv", {"text": "a\ud800b"})
        assert ctx.store.list_executions() == []


OPTION_STEPS = """
- step:
    name: after-dashdash
    image: python:3.11
    command: {python} {here}/argparse_probe.py -- {parameter-value:file}
    parameters:
      - name: file
        type: string
        default: a.txt
- step:
    name: named
    image: python:3.11
    command: {python} {here}/argparse_probe.py {parameter:file}
    parameters:
      - name: file
        type: string
        default: a.txt
        pass-as: --output={v}
- step:
    name: bare
    image: python:3.11
    command: {python} {here}/argparse_probe.py {parameter-value:file}
    parameters:
      - name: file
        type: string
        default: a.txt
"""


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ("after-dashdash", {"output": None, "files": ["--output=x"]}),
        ("named", {"output": "--output=x", "files": []}),
    ],
)
def test_a_value_that_looks_like_an_option_stays_a_value(sec_project, step, expected) -> None:
    project = sec_project(OPTION_STEPS)
    res = project.cli("exec", "run", step, "--file=--output=x", "--json")
    assert res.returncode == 0, res
    meta = res.json()["cumulative_metadata"]
    assert {"output": meta["output"], "files": meta["files"]} == expected


@pytest.mark.xfail(
    strict=True,
    reason="lint does not warn about a bare positional placeholder ({parameter-value:X} or "
    "pass-as '{v}') of a free string parameter without '--' before it, which lets a value "
    "such as '--output=x' be read as an option",
)
def test_lint_warns_about_a_positional_placeholder_without_dashdash(sec_project) -> None:
    project = sec_project(OPTION_STEPS)
    warnings = [m for m in lint(project.root / "valohai.yaml") if "--" in m.message]
    assert [m.line for m in warnings] == [21]
