"""The model both example steps train: a small MLP on scikit-learn's bundled digits images.

The data ships with scikit-learn (no download), and one run takes a second or two on one core,
so a 50-execution Bayesian task finishes in minutes on a laptop.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

# One BLAS thread per run: a task runs several executions side by side, one per core.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.01,
    "hidden_units": 64,
    "activation": "relu",
    "optimizer": "adam",
    "epochs": 12,
    "use_scaler": True,
    "seed": 0,
}


def train(params: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Train for ``params["epochs"]`` epochs, calling ``report`` with each epoch's metrics."""
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    if params["use_scaler"]:
        scaler = StandardScaler().fit(x_train)
        x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    else:
        x_train, x_val = x_train / 16.0, x_val / 16.0

    model = MLPClassifier(
        hidden_layer_sizes=(int(params["hidden_units"]),),
        activation=params["activation"],
        solver=params["optimizer"],
        learning_rate_init=float(params["learning_rate"]),
        batch_size=64,
        momentum=0.9,
        random_state=int(params["seed"]),
    )
    classes = np.unique(y)
    started = time.monotonic()
    metrics: dict[str, Any] = {}
    for epoch in range(1, int(params["epochs"]) + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(x_train, y_train, classes=classes)
        probabilities = model.predict_proba(x_val)
        metrics = {
            "epoch": epoch,
            "loss": _finite(model.loss_),
            "val_loss": _finite(log_loss(y_val, probabilities, labels=classes)),
            "val_accuracy": round(float(accuracy_score(y_val, model.predict(x_val))), 6),
            "elapsed": round(time.monotonic() - started, 3),
        }
        report(metrics)
    return metrics


def save_result(path: Path, params: dict[str, Any], metrics: dict[str, Any]) -> None:
    """Write the run's parameters and final metrics as a small JSON output file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"parameters": params, "metrics": metrics}, indent=2) + "\n")


def outputs_dir() -> Path | None:
    """``$VH_OUTPUTS_DIR`` (set by hyperstep and by Valohai), if any."""
    value = os.environ.get("VH_OUTPUTS_DIR")
    return Path(value) if value else None


def _finite(value: float) -> float | None:
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None
