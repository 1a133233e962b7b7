"""The digits example through the real CLI: a real classifier, its real accuracy recorded."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.helpers import REPO, run_cli


def test_exec_run_records_the_real_accuracy(tmp_path: Path) -> None:
    project = tmp_path / "digits"
    shutil.copytree(
        REPO / "examples" / "digits", project, ignore=shutil.ignore_patterns(".hyperstep")
    )
    env = {"PATH": f"{Path(os.sys.executable).parent}:{os.environ.get('PATH', '')}"}
    res = run_cli(
        "exec",
        "run",
        "train",
        "--epochs=4",
        "--learning_rate=0.01",
        "--json",
        cwd=project,
        env=env,
    )
    assert res.returncode == 0, res
    data = res.json()
    accuracy = data["cumulative_metadata"]["val_accuracy"]
    assert 0.85 < accuracy <= 1.0  # a real MLP on the real digits learns this much in 4 epochs
    assert data["cumulative_metadata"]["epoch"] == 4
    logs = run_cli("exec", "logs", str(data["counter"]), cwd=project)
    assert logs.stdout.count('"val_accuracy"') == 4
