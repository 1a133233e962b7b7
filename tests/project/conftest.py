"""Fixtures for the project tests: small valohai.yaml projects written to a temporary folder."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "examples" / "digits"

#: prints its argv (after the script name) as one JSON line: what the shell really passed
ARGV_DUMPER = "import json, sys\nprint(json.dumps(sys.argv[1:]))\n"

WriteProject = Callable[[str], Path]


@pytest.fixture
def write_project(tmp_path: Path) -> WriteProject:
    """Write ``text`` (dedented) as ``valohai.yaml`` in a fresh folder; return the folder."""

    def write(text: str) -> Path:
        (tmp_path / "valohai.yaml").write_text(textwrap.dedent(text).lstrip("\n"))
        (tmp_path / "dump_argv.py").write_text(ARGV_DUMPER)
        return tmp_path

    return write


@pytest.fixture
def python() -> str:
    return sys.executable


@pytest.fixture
def digits() -> Path:
    """The examples/digits project of the repository."""
    return DIGITS
