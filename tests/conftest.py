"""Fixtures shared by the whole suite: temporary projects, the CLI, PostgreSQL schemas."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.helpers import PROGRAMS, PYTHON, CLIResult, run_cli


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit a user's store, executor or crash switch."""
    for name in list(os.environ):
        if name.startswith("HYPERSTEP_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Write a valohai.yaml (``{python}`` and ``{programs}`` are filled in) into a fresh folder."""

    def make(yaml_text: str, name: str = "project") -> Path:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        text = textwrap.dedent(yaml_text)
        text = text.replace("{python}", PYTHON).replace("{programs}", str(PROGRAMS))
        (root / "valohai.yaml").write_text(text, encoding="utf-8")
        return root

    return make


@pytest.fixture
def cli() -> Callable[..., CLIResult]:
    return run_cli


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test (skipped only when the server is unreachable)."""
    from hyperstep.store import testing

    try:
        url = testing.fresh_postgres_url()
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is unreachable: {exc}")
    try:
        yield url
    finally:
        testing.drop_postgres_schema(url)
