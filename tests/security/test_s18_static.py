"""S18: the static checks find no shell, no eval, no unsafe YAML and no pickle in ``src/``.

The one place a shell runs is by design and is not a ``shell=True`` call: the runner shim
executes ``/bin/sh -c <command>`` as an argument list, because a Valohai step's command is a
shell script (its parameter values shell-quoted by valohai-yaml; see S1 and S2). These checks
ignore every ``noqa`` and ``nosec`` comment, so no exception can be slipped in silently.
``scripts/check`` runs the same tools over the whole of ``src/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.helpers import REPO

SRC = REPO / "src" / "hyperstep"
BIN = Path(sys.executable).parent

#: ruff's flake8-bandit rules: exec, pickle, eval, yaml.load, shell=True (2), os.system, os.exec*
RUFF_RULES = "S102,S301,S307,S506,S602,S604,S605,S606"
#: bandit's: exec, pickle, marshal, eval, yaml.load, shell=True (2), os.system, os.exec*, wildcards
BANDIT_TESTS = "B102,B301,B302,B307,B506,B602,B604,B605,B606,B609"


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")
    return found


def test_ruff_finds_no_shell_eval_yaml_load_or_pickle() -> None:
    res = subprocess.run(
        [_tool("ruff"), "check", "--select", RUFF_RULES, "--ignore-noqa", "--no-cache",
         "--output-format", "json", str(SRC)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    findings = json.loads(res.stdout or "[]")
    assert findings == [], [(f["code"], f["filename"], f["location"]["row"]) for f in findings]


def test_bandit_finds_no_shell_eval_yaml_load_or_pickle() -> None:
    res = subprocess.run(
        [_tool("bandit"), "-q", "-r", str(SRC), "-t", BANDIT_TESTS, "--ignore-nosec", "-f", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    report = json.loads(res.stdout)
    assert report["errors"] == []
    found = [(r["test_id"], r["filename"], r["line_number"]) for r in report["results"]]
    assert found == []
