"""The runtime contract an execution sees, so code written for Valohai runs unchanged.

Each execution gets its own folder with ``config/parameters.json`` (read by valohai-utils),
``config/execution.json``, ``inputs/`` and ``outputs/``, and the ``VH_*`` environment variables
that valohai-utils uses to find them. The command runs in the project folder, as Valohai runs it
in ``/valohai/repository``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Environment variables of the engine's own process that are never passed on to an execution.
_SCRUBBED_PREFIXES = ("HYPERSTEP_TOKEN",)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that a reader never sees half a file (temporary name, then rename).

    No fsync: these files are rewritten before every launch, so a power cut can cost nothing
    that the next launch does not recreate, and an fsync per file costs milliseconds per
    execution.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=str)
    os.replace(tmp, path)


def prepare_execution_dir(
    exec_dir: Path,
    *,
    counter: int,
    step: str,
    parameters: Mapping[str, Any],
    command: str,
    task_counter: int | None = None,
    project_name: str = "",
) -> None:
    """Create the execution's folder with the files valohai-utils reads."""
    config = exec_dir / "config"
    for sub in (config, exec_dir / "inputs", exec_dir / "outputs"):
        sub.mkdir(parents=True, exist_ok=True)
    write_json_atomic(config / "parameters.json", dict(parameters))
    write_json_atomic(config / "inputs.json", {})
    write_json_atomic(
        config / "execution.json",
        {
            "valohai.execution-id": job_id(counter),
            "valohai.execution-counter": counter,
            "valohai.execution-step": step,
            "valohai.execution-command": command,
            "valohai.task-counter": task_counter,
            "valohai.project-name": project_name,
        },
    )


def job_id(counter: int) -> str:
    """The ``VH_JOB_ID`` of an execution; valohai-utils uses its presence to detect a run."""
    return f"hyperstep-{counter}"


def execution_env(
    exec_dir: Path,
    project_root: Path,
    *,
    counter: int,
    task_counter: int | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of an execution: the caller's, plus the runtime contract."""
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not k.startswith(_SCRUBBED_PREFIXES)
    }
    env.update(
        {
            "VH_JOB_ID": job_id(counter),
            "VH_CONFIG_DIR": str(exec_dir / "config"),
            "VH_INPUTS_DIR": str(exec_dir / "inputs"),
            "VH_OUTPUTS_DIR": str(exec_dir / "outputs"),
            "VH_REPOSITORY_DIR": str(project_root),
            "PYTHONUNBUFFERED": "1",
            "HYPERSTEP_EXECUTION_COUNTER": str(counter),
        }
    )
    if task_counter is not None:
        env["HYPERSTEP_TASK_COUNTER"] = str(task_counter)
    return env
