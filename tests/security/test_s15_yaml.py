"""S15: a hostile ``valohai.yaml`` is refused with a clear error and costs nothing to refuse.

Object-constructing tags, alias bombs, recursive aliases, absurd nesting, duplicate keys and
oversized files are each a ConfigError naming the file, the line and the column, from
``load_project`` (what every command uses) and from ``hyperstep lint``, never a traceback and
never a side effect. Anchors and merge keys, which real files use, still work.
"""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from tests.helpers import run_cli

from hyperstep.errors import ConfigError
from hyperstep.project import lint, load_project

STEP = """- step:
    name: train
    image: python:3.11
    command: python train.py
"""

PYTHON_TAG = (
    STEP
    + """- step:
    name: evil
    image: !!python/object/apply:os.system ["touch PWNED"]
    command: x
"""
)


def _bomb(levels: int = 9) -> str:
    lines = ['- &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"- &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


CASES = {
    "python tag": (PYTHON_TAG, 7, "could not determine a constructor"),
    "alias bomb": (_bomb(), 6, "expand to more than"),  # where it passes 100,000
    "recursive alias": (STEP + "- &loop [*loop]\n", 5, "refers to a collection containing it"),
    "deep nesting": (STEP + "- " + "[" * 80 + "]" * 80 + "\n", 5, "nested deeper than"),
    "very deep nesting": (STEP + "- " + "[" * 5000 + "]" * 5000 + "\n", None, "nested"),
    "duplicate key": (STEP + "    command: rm -rf ~\n", 5, "duplicate key 'command'"),
}


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "valohai.yaml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_files_are_refused_with_line_and_column(tmp_path: Path, case: str) -> None:
    text, line, words = CASES[case]
    root = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    message = str(caught.value)
    assert words in message
    if line is not None:
        assert message.startswith(f"{root / 'valohai.yaml'}:{line}: ")
        assert "column" in message
    errors = [m for m in lint(root / "valohai.yaml") if m.level == "error"]
    assert errors and words in errors[0].message
    assert not list(tmp_path.rglob("PWNED"))


def test_an_alias_bomb_costs_no_memory(tmp_path: Path) -> None:
    root = _write(tmp_path, _bomb(9))  # 9**9 strings once expanded
    process = psutil.Process()
    before = process.memory_info().rss
    for _ in range(20):
        with pytest.raises(ConfigError):
            load_project(root)
        lint(root / "valohai.yaml")
    assert process.memory_info().rss - before < 50 * 2**20


def test_a_file_over_one_megabyte_is_not_read(tmp_path: Path) -> None:
    root = _write(tmp_path, STEP + "# " + "x" * (1 << 20) + "\n")
    with pytest.raises(ConfigError, match="larger than 1024 KiB"):
        load_project(root)


def test_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        """- step: &base
    name: train
    image: python:3.11
    command: python train.py {parameters}
    parameters:
      - &lr {name: lr, type: float, default: 0.1}
- step:
    <<: *base
    name: train2
    parameters:
      - *lr
""",
    )
    project = load_project(root)
    assert sorted(project.steps) == ["train", "train2"]
    assert project.step("train2").parameters["lr"].default == 0.1


@pytest.mark.parametrize("case", ["python tag", "alias bomb", "duplicate key"])
def test_the_command_line_prints_one_line(tmp_path: Path, case: str) -> None:
    root = _write(tmp_path, CASES[case][0])
    res = run_cli("exec", "run", "train", cwd=root)
    assert res.returncode == 2, res
    assert res.stderr.strip().count("\n") == 0 and "Traceback" not in res.stderr
    linted = run_cli("lint", cwd=root)
    assert linted.returncode == 1 and "Traceback" not in linted.stderr + linted.stdout
