"""examples/digits runs as an execution would: built command, /bin/sh, runtime directories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hyperstep.project import build_command, load_project, resolve_values


def run_step(
    digits: Path, tmp_path: Path, step_name: str, given: dict[str, Any]
) -> tuple[list[dict[str, Any]], Path, dict[str, Any]]:
    """Run a digits step with the runtime contract's directories; return its metric lines."""
    step = load_project(digits).step(step_name)
    values = resolve_values(step, given)
    command = build_command(step, values).replace("python ", f"{sys.executable} ", 1)
    config, outputs = tmp_path / "config", tmp_path / "outputs"
    config.mkdir()
    outputs.mkdir()
    (config / "parameters.json").write_text(json.dumps(values))
    env = {
        **os.environ,
        "VH_JOB_ID": "1",
        "VH_CONFIG_DIR": str(config),
        "VH_INPUTS_DIR": str(tmp_path / "inputs"),
        "VH_OUTPUTS_DIR": str(outputs),
        "VH_REPOSITORY_DIR": str(digits),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        ["/bin/sh", "-c", command], cwd=digits, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return events, outputs, values


@pytest.mark.parametrize("step_name", ["train", "train-utils"])
def test_digits_step_prints_one_metric_line_per_epoch(
    digits: Path, tmp_path: Path, step_name: str
) -> None:
    events, outputs, values = run_step(
        digits,
        tmp_path,
        step_name,
        {"epochs": 3, "hidden_units": 32, "activation": "tanh", "use_scaler": False},
    )
    assert [e["epoch"] for e in events] == [1, 2, 3]
    assert all(0.0 <= e["val_accuracy"] <= 1.0 for e in events)
    assert all(e["loss"] > 0 for e in events)
    assert events[-1]["val_accuracy"] > 0.5  # it really learns
    result = json.loads((outputs / "result.json").read_text())
    assert result["parameters"]["hidden_units"] == 32
    assert result["parameters"]["activation"] == "tanh"
    assert result["parameters"]["use_scaler"] is False
    assert result["metrics"] == events[-1]
    assert values["use_scaler"] is False
