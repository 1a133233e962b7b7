"""Fixtures of the reliability scenarios: a probe project that never leaves processes behind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.invariants import kill_project_processes
from tests.reliability.support import Project, make


@pytest.fixture
def probe_project(tmp_path: Path) -> Iterator[Callable[..., Project]]:
    """``probe_project(yaml_text, name="project")``: a project running the probe."""
    made: list[Project] = []

    def factory(yaml_text: str, name: str = "project") -> Project:
        project = make(tmp_path / name, yaml_text)
        made.append(project)
        return project

    yield factory
    for project in made:  # a failed test must not leave its executions running
        kill_project_processes(project.root)
