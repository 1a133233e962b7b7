"""Run executions on a Dask distributed cluster (``pip install hyperstep[dask]``).

:class:`DaskExecutor` (engine side, :mod:`.executor`) submits one Dask task per execution; the
task (:mod:`.worker`) runs the execution under the runner shim on a worker, in a worker-local
execution folder, and a receiver thread (:mod:`.receiver`) copies its output and result into the
execution folder on the engine's machine while it runs. The project reaches the workers as a
content-addressed archive (:mod:`.project_archive`) or through a shared folder; a step's
``resources`` become Dask resources (:mod:`.resources`). The README section "Running on a
Dask cluster" tells the whole design.
"""

from __future__ import annotations

from hyperstep.executors.dask.executor import DaskExecutor

__all__ = ["DaskExecutor"]
