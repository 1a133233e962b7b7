"""Fixtures of the API tests: a project and the whole server running on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.api.support import PROJECT, Server, running_server


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project(PROJECT)


@pytest.fixture
def server(project: Path) -> Iterator[Server]:
    with running_server(project) as running:
        yield running
