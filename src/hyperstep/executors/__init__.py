"""Executors: start, watch and stop one execution's process; they never touch the store.

``LocalExecutor`` runs each execution on this machine under the runner shim
(``python -m hyperstep.executors.shim``), which leaves everything a restarted engine needs in
the execution folder. ``OutputTail`` reads the output any executor leaves there.
"""

from __future__ import annotations

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
