"""Dask resources: how many executions a worker runs at once, and what a step needs.

Workers advertise abstract resources (``dask worker … --resources "slots=2 GPU=1"``); a task
that asks for ``{"slots": 1}`` runs only where one slot is free, so ``slots=N`` is a worker's
concurrency. Each execution asks for the executor's resources (default ``slots=1``) plus what
its step declares in ``valohai.yaml``:

* ``resources.devices`` (``nvidia.com/gpu: 1``) → the worker resource of that name, or ``GPU``
  / ``gpu`` (Dask's usual spelling); no worker offering it is an error, since running a GPU step
  on CPU-only workers would silently do something else;
* ``resources.cpu.min`` → ``cpu`` (or ``CPU``), and ``resources.memory.min`` (MB) → ``memory``
  (MB) or ``MEMORY`` (bytes, Dask's spelling), only when some worker offers them: workers rarely
  declare CPUs or memory, and Dask already places a task on a worker with threads free.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from hyperstep.errors import ValidationError

#: Each execution asks for one slot unless told otherwise.
DEFAULT_RESOURCES: dict[str, float] = {"slots": 1.0}
_ITEM = re.compile(r"^\s*([A-Za-z_][\w.\-/]*)\s*=\s*([0-9.eE+\-]+)\s*$")
_DEVICE_ALIASES: dict[str, tuple[str, ...]] = {
    "nvidia.com/gpu": ("nvidia.com/gpu", "GPU", "gpu"),
    "amd.com/gpu": ("amd.com/gpu", "GPU", "gpu"),
}


def parse_resources(
    value: str | Mapping[str, Any] | None, *, field: str = "resources"
) -> dict[str, float]:
    """``"slots=1,GPU=1"`` (commas or spaces) or a mapping → ``{"slots": 1.0, "GPU": 1.0}``."""
    if value is None:
        return dict(DEFAULT_RESOURCES)
    items: Iterable[tuple[str, Any]]
    if isinstance(value, Mapping):
        items = value.items()
    else:
        parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
        pairs = []
        for part in parts:
            match = _ITEM.match(part)
            if match is None:
                raise ValidationError(
                    f"{part!r} is not NAME=NUMBER (e.g. 'slots=1' or 'slots=1,GPU=1')",
                    field=field,
                )
            pairs.append((match.group(1), match.group(2)))
        items = pairs
    out: dict[str, float] = {}
    for name, raw in items:
        try:
            amount = float(raw)
        except (TypeError, ValueError):
            raise ValidationError(f"{name}: {raw!r} is not a number", field=field) from None
        if not amount >= 0 or amount == float("inf"):
            raise ValidationError(f"{name}: {raw!r} must be a non-negative number", field=field)
        out[str(name)] = amount
    return out


def step_requirements(data: Mapping[str, Any] | None) -> dict[str, float]:
    """What a step's ``resources:`` block asks for, as ``{cpu, memory, <device>: amount}``."""
    if not data:
        return {}
    need: dict[str, float] = {}
    for name in ("cpu", "memory"):
        block = data.get(name)
        if isinstance(block, Mapping):
            amount = block.get("min", block.get("max"))
            if isinstance(amount, (int, float)) and not isinstance(amount, bool) and amount > 0:
                need[name] = float(amount)
    devices = data.get("devices")
    if isinstance(devices, Mapping):
        for device, count in devices.items():
            if isinstance(count, (int, float)) and not isinstance(count, bool) and count > 0:
                need[str(device)] = float(count)
    return need


def map_onto_workers(
    executor_resources: Mapping[str, float],
    step_needs: Mapping[str, float],
    offered: Iterable[str],
    *,
    step: str,
    explicit: bool,
) -> dict[str, float]:
    """The ``resources=`` of one execution's Dask task, given what the cluster's workers offer.

    ``explicit``: the executor resources were configured (``--resources``), so a name no worker
    offers is an error; the default ``slots=1`` is dropped when no worker offers slots (each
    worker then runs as many executions as it has threads).
    """
    available = set(offered)
    out: dict[str, float] = {}
    for name, amount in executor_resources.items():
        if name in available:
            out[name] = amount
        elif explicit and amount > 0:
            raise ValidationError(
                f"no worker of the cluster offers the resource {name!r}; start workers with "
                f"'dask worker SCHEDULER --resources \"{name}=N\"'",
                field="resources",
            )
    for name, amount in step_needs.items():
        if name == "cpu":
            target = _first(("cpu", "CPU"), available)
            if target is not None:
                out[target] = max(out.get(target, 0.0), amount)
        elif name == "memory":
            if "memory" in available:
                out["memory"] = max(out.get("memory", 0.0), amount)
            elif "MEMORY" in available:
                out["MEMORY"] = max(out.get("MEMORY", 0.0), amount * (1 << 20))
        else:
            aliases = _DEVICE_ALIASES.get(name, (name, name.rsplit("/", 1)[-1].upper()))
            target = _first(aliases, available)
            if target is None:
                raise ValidationError(
                    f"step {step!r} needs {amount:g} × {name} (resources.devices), but no worker "
                    f"of the cluster offers it; start such workers with 'dask worker SCHEDULER "
                    f'--resources "{aliases[1] if len(aliases) > 1 else name}=N"\'',
                    field=f"steps.{step}.resources.devices",
                )
            out[target] = max(out.get(target, 0.0), amount)
    return out


def _first(names: Iterable[str], available: set[str]) -> str | None:
    for name in names:
        if name in available:
            return name
    return None


def format_resources(resources: Mapping[str, float]) -> str:
    return ",".join(f"{k}={v:g}" for k, v in resources.items())
