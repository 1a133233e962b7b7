"""Spaces, objectives and a task loop shared by the search tests."""

from __future__ import annotations

import importlib.util
import json
import math
from typing import Any

import pytest

from hyperstep.search import Search
from hyperstep.space import Categorical, Fixed, Integer, LogUniform, Space, Uniform

ENGINES = ["optuna", "hyperopt", "auto"]


def engine_param(name: str) -> Any:
    """``name`` as a pytest parameter, skipped when its module is not part of the tree yet."""
    if name == "auto" and importlib.util.find_spec("hyperstep.search.auto") is None:
        return pytest.param(name, marks=pytest.mark.skip(reason="hyperstep.search.auto missing"))
    return name


ENGINE_PARAMS = [engine_param(name) for name in ENGINES]


def issue_space() -> Space:
    """The space of the issue: every kind of dimension a Bayesian task meets."""
    return Space(
        {
            "lr": LogUniform(-5, -1),
            "units": Integer(16, 128, step=16),
            "act": Categorical(["relu", "tanh"]),
            "drop": Uniform(0, 0.5, step=0.05),
        }
    )


def mixed_space() -> Space:
    """Every distribution kind, including the awkward ones (stepped log, ordered, fixed)."""
    return Space(
        {
            "lr": LogUniform(-4, -1, step=0.0005),
            "width": Integer(1, 512, log=True),
            "units": Integer(16, 128, step=16),
            "act": Categorical(["relu", "tanh", True, 3]),
            "momentum": Categorical([0.8, 0.9, 0.95, 0.99], ordered=True),
            "drop": Uniform(0, 0.5, step=0.05),
            "x": Uniform(-2.5, 2.5),
            "batch": Fixed(32),
        }
    )


def small_space() -> Space:
    """A finite space of 12 points."""
    return Space({"a": Integer(1, 3), "b": Categorical(["x", "y"]), "c": Uniform(0, 1, step=1)})


def toy_objective(point: dict[str, Any]) -> float:
    """A cheap deterministic objective over :func:`mixed_space` points."""
    value = (math.log10(point["lr"]) + 2.5) ** 2 + (point["units"] - 80) ** 2 / 1000
    return float(value + point["drop"] + (0.3 if point["act"] == "tanh" else 0.0) + point["x"] ** 2)


def run_task(
    search: Search, objective: Any, *, batch: int, limit: int = 10_000
) -> list[tuple[dict[str, Any], float | None]]:
    """Drive ``search`` like a Bayesian task: synchronous batches until it proposes nothing.

    Every proposal goes through a JSON round-trip, as it does through the store.
    """
    history: list[tuple[dict[str, Any], float | None]] = []
    while len(history) < limit:
        proposals = search.propose(history, batch)
        if not proposals:
            break
        for point in proposals:
            stored = json.loads(json.dumps(point))
            history.append((stored, objective(stored)))
    return history


def key(point: dict[str, Any]) -> str:
    return json.dumps(point, sort_keys=True)
