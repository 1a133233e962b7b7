"""What the reliability scenarios share: a project around the probe, engines in subprocesses.

Each scenario writes a ``valohai.yaml`` whose steps run ``probe.py`` (``{probe}`` in the text
becomes the command that runs it with this interpreter), drives the real ``hyperstep`` command,
and ends with :func:`tests.invariants.check_task`. The probe appends to ``runs.jsonl`` in the
project, so every test can count how many times each execution really ran.
"""

from __future__ import annotations

import signal
import subprocess
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import PYTHON, clean_env, run_cli

PROBE = Path(__file__).resolve().with_name("probe.py")
PROBE_CMD = f"{PYTHON} {PROBE}"


@dataclass
class Project:
    """A temporary project whose executions run the probe."""

    root: Path

    @property
    def runs(self) -> Path:
        return self.root / "runs.jsonl"

    @property
    def env(self) -> dict[str, str]:
        return {"PROBE_RUNS": str(self.runs)}

    def cli(self, *args: str, env: dict[str, str] | None = None, timeout: float = 240) -> Any:
        return run_cli(*args, cwd=self.root, env={**self.env, **(env or {})}, timeout=timeout)

    def engine(
        self, *args: str, env: dict[str, str] | None = None, quiet: bool = True
    ) -> subprocess.Popen[str]:
        """``hyperstep ARGS`` in the background (a task engine to kill or signal)."""
        return subprocess.Popen(
            [PYTHON, "-m", "hyperstep", *args, *(["--quiet"] if quiet else [])],
            cwd=self.root,
            env=clean_env({**self.env, **(env or {})}),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def exec_dirs(self) -> list[Path]:
        base = self.root / ".hyperstep" / "executions"
        return sorted(base.iterdir(), key=lambda p: int(p.name)) if base.exists() else []

    def running(self) -> list[Path]:
        """Execution folders whose command started and has not ended."""
        return [
            d
            for d in self.exec_dirs()
            if (d / "pid.json").exists() and not (d / "exit.json").exists()
        ]

    def finished(self) -> list[Path]:
        return [d for d in self.exec_dirs() if (d / "exit.json").exists()]


def make(root: Path, yaml_text: str) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(yaml_text).replace("{probe}", PROBE_CMD)
    (root / "valohai.yaml").write_text(text, encoding="utf-8")
    return Project(root)


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.05)


def sigkill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
