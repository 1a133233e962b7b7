"""Store fixtures: the same tests against a SQLite file and a fresh PostgreSQL schema.

Other test folders can reuse the PostgreSQL part without importing this file: call
``hyperstep.store.testing.fresh_postgres_url()`` for a URL to a new empty schema (skip first
when ``postgres_unavailable()`` gives a reason) and ``drop_postgres_schema(url)`` afterwards.
The ``pg_url`` fixture below shows the pattern.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import hyperstep
from hyperstep.store import Store
from hyperstep.store.testing import drop_postgres_schema, fresh_postgres_url, postgres_unavailable

_pg_reason: list[str | None] = []

WORKER = Path(__file__).with_name("store_worker.py")
SRC = Path(hyperstep.__file__).resolve().parents[1]

StartWorker = Callable[[str, str, int], "subprocess.Popen[str]"]


def _postgres_skip_reason() -> str | None:
    """Asked once per test run: is the server at 127.0.0.1:5432 there?"""
    if not _pg_reason:
        _pg_reason.append(postgres_unavailable())
    return _pg_reason[0]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL to a new, empty PostgreSQL schema, dropped after the test."""
    reason = _postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    url = fresh_postgres_url()
    try:
        yield url
    finally:
        drop_postgres_schema(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store of each kind."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str, tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(store_url, tmp_path)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[StartWorker]:
    """Start ``store_worker.py`` in a new process: ``start_worker(url, label, n)``."""
    started: list[subprocess.Popen[str]] = []

    def start(url: str, label: str, n: int) -> subprocess.Popen[str]:
        path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), url, str(tmp_path), label, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": path},
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
