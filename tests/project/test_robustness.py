"""Whatever the file holds, lint returns messages and load_project raises ConfigError only.

Random documents rarely get past the schema, so the second test starts from real files (the
digits example) and replaces a few values anywhere in them with odd ones: that is how a value
valohai-yaml's constructors choke on (``time-limit: 1e30``) was found.
"""

from __future__ import annotations

import contextlib
import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperstep.errors import ConfigError, HyperstepError
from hyperstep.project import blueprint_spec, lint, load_project
from hyperstep.taskspec import task_spec_problems

DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits" / "valohai.yaml"

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
KINDS = st.sampled_from(["step", "task", "pipeline", "endpoint", "other"])
DOCUMENTS = st.lists(st.dictionaries(KINDS, VALUES, min_size=1, max_size=1), max_size=4) | VALUES
ODD_VALUES = st.sampled_from(
    [None, True, 0, -1, 1.5, "", "x", [], {}, [1, "a"], {"a": 1}, "1e-3", 10**30, float("nan")]
)


def check(document: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "valohai.yaml").write_text(yaml.safe_dump(document))
        messages = lint(root / "valohai.yaml")
        assert all(m.level in ("error", "warning") for m in messages)
        with contextlib.suppress(ConfigError):
            project = load_project(root)
            for name in project.blueprints:
                with contextlib.suppress(HyperstepError):
                    spec = blueprint_spec(project, name)
                    if spec.step in project.steps:
                        list(task_spec_problems(spec, project.step(spec.step)))


@settings(max_examples=60, deadline=None)
@given(document=DOCUMENTS)
def test_random_documents(document: Any) -> None:
    check(document)


def _slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair in a parsed YAML document."""
    found: list[tuple[Any, Any]] = []
    keys = list(value) if isinstance(value, dict) else range(len(value))
    for key in keys:
        found.append((value, key))
        if isinstance(value[key], (dict, list)):
            found.extend(_slots(value[key]))
    return found


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_mutated_real_files(data: st.DataObject) -> None:
    document = copy.deepcopy(yaml.safe_load(DIGITS.read_text()))
    slots = _slots(document)
    for _ in range(data.draw(st.integers(1, 3))):
        container, key = data.draw(st.sampled_from(slots))
        container[key] = data.draw(ODD_VALUES)
    check(document)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=80))
def test_arbitrary_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "valohai.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        lint(root / "valohai.yaml")
        with contextlib.suppress(ConfigError):
            load_project(root)
