"""Fixtures for the executor tests (helpers in :mod:`tests.executors.support`)."""

from __future__ import annotations

import contextlib
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tests.executors.support import Runs, marked_processes

from hyperstep.executors import LocalExecutor


@pytest.fixture
def marker() -> str:
    return f"executors-{uuid.uuid4().hex}"


@pytest.fixture
def runs(tmp_path: Path, marker: str) -> Iterator[Runs]:
    runs = Runs(executor=LocalExecutor(grace=5.0), root=tmp_path / "executions", marker=marker)
    yield runs
    for proc in marked_processes(marker):
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGKILL)
    runs.executor.close()
