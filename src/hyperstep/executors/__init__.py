"""Executors: start, watch and stop one execution's process; they never touch the store.

``LocalExecutor`` runs each execution on this machine under the runner shim
(``python -m hyperstep.executors.shim``), which leaves everything a restarted engine needs in
the execution folder. ``OutputTail`` reads the output any executor leaves there.

Names are loaded on first use: the runner shim imports this package for every execution, and
it should not pay for the executor and tail modules it never uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hyperstep.executors.base import (
        ChildInfo,
        Executor,
        ExitInfo,
        LaunchSpec,
        RunRef,
        RunState,
    )
    from hyperstep.executors.local import LocalExecutor
    from hyperstep.executors.tail import OutputLine, OutputTail, Stream

_WHERE = {
    "ChildInfo": "base",
    "Executor": "base",
    "ExitInfo": "base",
    "LaunchSpec": "base",
    "RunRef": "base",
    "RunState": "base",
    "LocalExecutor": "local",
    "OutputLine": "tail",
    "OutputTail": "tail",
    "Stream": "tail",
}

__all__ = [
    "ChildInfo",
    "Executor",
    "ExitInfo",
    "LaunchSpec",
    "LocalExecutor",
    "OutputLine",
    "OutputTail",
    "RunRef",
    "RunState",
    "Stream",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'hyperstep.executors' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"hyperstep.executors.{module}"), name)
    globals()[name] = value
    return value
