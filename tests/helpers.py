"""Helpers shared by tests: paths, and the real ``hyperstep`` command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = REPO / "tests" / "programs"
PYTHON = sys.executable
ARTIFACTS = REPO / "test-artifacts"


def program(name: str) -> str:
    """The shell words that run one of tests/programs with this interpreter."""
    return f"{PYTHON} {PROGRAMS / name}"


class CLIResult:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"<exit {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}>"


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERSTEP_")}
    env["COLUMNS"] = "200"
    env.update(extra or {})
    return env


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 240,
    input: str | None = None,
) -> CLIResult:
    """Run the real ``hyperstep`` command in a subprocess."""
    proc = subprocess.run(
        [PYTHON, "-m", "hyperstep", *args],
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )
    return CLIResult(proc)
