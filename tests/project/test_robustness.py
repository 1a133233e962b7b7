"""Whatever the file holds, lint returns messages and load_project raises ConfigError only."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperstep.errors import HyperstepError
from hyperstep.project import lint, load_project

SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-2, 2) | st.text(max_size=6)
KEYS = st.sampled_from(
    [
        "name", "image", "command", "parameters", "type", "default", "min", "max", "choices",
        "multiple", "style", "rules", "items", "value", "step", "start", "end", "count",
        "distribution", "execution-count", "parameter-sets", "stop-condition", "pass-as",
        "optional", "engine", "on-child-error", "nodes", "edges",
    ]
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
ITEMS = st.dictionaries(
    st.sampled_from(["step", "task", "pipeline", "endpoint", "other"]), VALUES, min_size=1, max_size=1
)
DOCUMENTS = st.lists(ITEMS, max_size=4) | VALUES


@settings(max_examples=150, deadline=None)
@given(document=DOCUMENTS)
def test_lint_and_load_never_crash(document: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "valohai.yaml").write_text(yaml.safe_dump(document))
        messages = lint(root / "valohai.yaml")
        assert all(m.level in ("error", "warning") for m in messages)
        try:
            load_project(root)
        except HyperstepError:
            pass


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=80))
def test_arbitrary_text_never_crashes(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "valohai.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        lint(root / "valohai.yaml")
        try:
            load_project(root)
        except HyperstepError:
            pass
