"""Parameter importance: how much of the objective's variation each parameter explains.

The measure is a random forest's mean decrease in impurity (what Optuna's
``MeanDecreaseImpurityImportanceEvaluator`` reports): a forest is fitted on the finished
executions, parameters as features (log-scaled where the space is logarithmic, categories as
codes), the objective as target, and each tree's impurity decrease is credited to the
parameter it split on. It is cheap, needs no model of the space, and handles categories and
interactions; it is computed on the server so the browser only gets one number per parameter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Fewer finished executions than this give importances that mean nothing.
MIN_ROWS = 8
#: The forest sees at most this many executions (a fixed sample), so a task of thousands of
#: executions still answers in a fraction of a second.
MAX_ROWS = 1000
N_TREES = 32


@dataclass(frozen=True)
class Feature:
    """One parameter as the forest sees it: numeric values (None where missing)."""

    name: str
    values: Sequence[float | None]


def parameter_importance(
    features: Sequence[Feature], objective: Sequence[float | None], *, seed: int = 0
) -> list[tuple[str, float]] | None:
    """``(name, importance)`` summing to 1, most important first; None with too little data."""
    if not features:
        return None
    rows = [
        i
        for i, y in enumerate(objective)
        if _finite(y) and all(_finite(f.values[i]) for f in features)
    ]
    if len(rows) < MIN_ROWS:
        return None
    rng = np.random.default_rng(seed)
    if len(rows) > MAX_ROWS:
        rows = sorted(rng.choice(rows, size=MAX_ROWS, replace=False).tolist())
    x = np.array([[f.values[i] for f in features] for i in rows], dtype=float)
    y = np.array([objective[i] for i in rows], dtype=float)
    if float(np.ptp(y)) == 0.0:
        return [(f.name, 1.0 / len(features)) for f in features]
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(
        n_estimators=N_TREES, min_samples_leaf=2, random_state=seed, n_jobs=1
    )
    forest.fit(x, y)
    scores = np.nan_to_num(forest.feature_importances_, nan=0.0)
    total = float(scores.sum())
    if total <= 0.0:
        return [(f.name, 1.0 / len(features)) for f in features]
    ranked = [(f.name, float(s) / total) for f, s in zip(features, scores, strict=True)]
    ranked.sort(key=lambda item: -item[1])
    return ranked


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
