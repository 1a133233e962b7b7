"""Helpers for the executor tests: real shims, real programs from tests/programs/.

Every process a test starts carries a unique marker in its environment, so a test can ask
psutil for "every process of this test still alive" (grandchildren included) and the teardown
can SIGKILL leftovers by pid without touching anything else on the machine.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from tests.helpers import PROGRAMS

import hyperstep
from hyperstep.executors import ExitInfo, LaunchSpec, LocalExecutor, RunRef

MARKER_VAR = "HYPERSTEP_TEST_MARKER"
#: the folder that holds the hyperstep package, for Python subprocesses that import it
PACKAGE_PARENT = str(Path(hyperstep.__file__).resolve().parent.parent)


def python_env(**extra: str) -> dict[str, str]:
    """This environment with hyperstep importable, for subprocesses that import it."""
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONPATH": PACKAGE_PARENT + (os.pathsep + path if path else ""),
        **extra,
    }


def program(name: str, *args: str) -> str:
    """A shell command running ``tests/programs/<name>`` with ``args`` (``exec``: no extra sh)."""
    argv = [sys.executable, str(PROGRAMS / name), *args]
    return "exec " + shlex.join(argv)


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    """Poll ``predicate`` until it is true; fail (not hang) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.02)


def marked_processes(marker: str) -> list[psutil.Process]:
    """Live (non-zombie) processes whose environment carries ``marker``."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get(MARKER_VAR) == marker:
                found.append(proc)
        except psutil.Error:
            continue
    return found


@dataclass
class Runs:
    """Launches programs under a :class:`LocalExecutor` into folders of ``root``."""

    executor: LocalExecutor
    root: Path
    marker: str
    refs: list[RunRef] = field(default_factory=list)

    def spec(self, command: str, name: str = "1", **env: str) -> LaunchSpec:
        full_env = {**os.environ, MARKER_VAR: self.marker, "VH_JOB_ID": name, **env}
        return LaunchSpec(exec_dir=self.root / name, command=command, cwd=PROGRAMS, env=full_env)

    def launch(self, command: str, name: str = "1", **env: str) -> RunRef:
        ref = self.executor.launch(self.spec(command, name, **env))
        self.refs.append(ref)
        return ref

    def wait(self, ref: RunRef, timeout: float = 30.0) -> ExitInfo:
        wait_until(lambda: self.executor.state(ref) != "running", timeout, "the run to end")
        assert self.executor.state(ref) == "exited"
        info = self.executor.exit_info(ref)
        assert info is not None
        return info

    def stdout(self, ref: RunRef) -> str:
        return (Path(ref["exec_dir"]) / "stdout.log").read_text()

    def stderr(self, ref: RunRef) -> str:
        return (Path(ref["exec_dir"]) / "stderr.log").read_text()

    def wait_output(self, ref: RunRef, text: str, timeout: float = 30.0) -> None:
        wait_until(lambda: text in self.stdout(ref), timeout, f"{text!r} on stdout")

    def alive(self) -> list[psutil.Process]:
        """This test's live processes, shims included."""
        return marked_processes(self.marker)

    def alive_commands(self) -> list[psutil.Process]:
        """This test's live processes that are not shims: commands and their descendants."""
        shims = {ref["shim_pid"] for ref in self.refs}
        return [proc for proc in self.alive() if proc.pid not in shims and _is_command(proc)]


def _is_command(proc: psutil.Process) -> bool:
    """Alive and not a shim (a shim ending during the scan is neither)."""
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return "hyperstep.executors.shim" not in proc.cmdline()
    except psutil.Error:
        return False
