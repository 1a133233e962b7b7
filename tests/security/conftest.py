"""Fixtures of the security scenarios: projects around the probe and the argv programs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.helpers import PROGRAMS, PYTHON
from tests.invariants import kill_project_processes
from tests.reliability.support import Project, make

HERE = Path(__file__).resolve().parent


@pytest.fixture
def sec_project(tmp_path: Path) -> Iterator[Callable[..., Project]]:
    """``sec_project(yaml_text)``: ``{probe}``, ``{python}``, ``{programs}``, ``{here}`` filled."""
    made: list[Project] = []

    def factory(yaml_text: str, name: str = "project") -> Project:
        text = (
            yaml_text.replace("{python}", PYTHON)
            .replace("{programs}", str(PROGRAMS))
            .replace("{here}", str(HERE))
        )
        project = make(tmp_path / name, text)
        made.append(project)
        return project

    yield factory
    for project in made:
        kill_project_processes(project.root)
