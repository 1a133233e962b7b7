"""The public surface of hyperstep.space, its leaf position, and its docstring examples."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

import hyperstep.space


def test_all_is_sorted_and_importable():
    names = hyperstep.space.__all__
    # isort style, as ruff keeps it: CONSTANTS, then Classes, then functions.
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for name in names:
        assert getattr(hyperstep.space, name) is not None


def test_the_architecture_names_are_exported():
    expected = {
        "Space", "Distribution", "Uniform", "LogUniform", "Integer", "Categorical", "Fixed",
        "variant_values", "variant_distribution", "parse_distribution", "SpaceError",
        "check_against_parameter",
    }  # fmt: skip
    assert expected <= set(hyperstep.space.__all__)


def test_space_is_a_leaf():
    """Importing the space loads no other hyperstep module than errors, and no heavy library."""
    code = "import sys, hyperstep.space\nprint('\\n'.join(sorted(m for m in sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    ours = {m for m in out if m.split(".")[0] == "hyperstep"}
    assert {m for m in ours if not m.startswith("hyperstep.space")} == {
        "hyperstep",
        "hyperstep.errors",
    }
    for heavy in ("scipy", "optuna", "sqlalchemy", "valohai_yaml"):
        assert heavy not in out


@pytest.mark.parametrize(
    "module",
    [
        "hyperstep.space._variants",
        "hyperstep.space._parse",
    ],
)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
