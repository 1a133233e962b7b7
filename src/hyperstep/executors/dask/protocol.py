"""What the engine and the Dask workers say to each other: one payload per run, and the replies.

Both sides import this module, so a worker running another hyperstep version fails loudly at
the version check instead of misreading a message. Everything here is plain data (pickled by
Dask), and nothing imports ``distributed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

#: The Dask key of a run's task; the run id makes it unique across engines and attempts.
KEY_PREFIX = "hyperstep-run-"
#: A run's claim (a scheduler-side ``distributed.Event``): set by the worker that starts the run,
#: or by the engine to forbid a start. A run whose claim is already set never starts, so a task
#: Dask re-runs after its worker died, or one the engine stopped, cannot start a second process.
CLAIM_PREFIX = "hyperstep-claim-"
#: The engine-side record of a launch, written before the task is submitted (for ``adopt``).
RUN_FILE = "run.json"
#: Environment variable telling an execution which worker runs it.
WORKER_VAR = "HYPERSTEP_DASK_WORKER"
#: Requests addressed to every worker (runs whose worker is not known yet).
ANY_WORKER = "*"

Outcome = Literal["ended", "refused", "failed"]


def task_key(run_id: str) -> str:
    return KEY_PREFIX + run_id


def claim_name(run_id: str) -> str:
    return CLAIM_PREFIX + run_id


@dataclass(frozen=True)
class CodeRef:
    """Where a run's code comes from on the worker.

    ``mode`` is ``archive`` (the project, packed by the engine and unpacked once per worker;
    ``sha`` names the archive) or ``shared`` (the project is at ``path`` on every worker).
    """

    mode: Literal["archive", "shared"]
    sha: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class RunPayload:
    """Everything a worker needs to run one execution (sent with the Dask task).

    ``env`` holds only what the engine adds to or changes in its own environment (the runtime
    contract's ``VH_*`` variables, ``HYPERSTEP_*`` counters, forwarded variables): the command
    gets the worker's environment plus these, so a worker's ``PATH`` and ``HOME`` stay its own.
    Values under ``engine_exec_dir`` or ``engine_root`` are rewritten to the worker's folders.
    ``files`` are the execution folder's ``config/`` and ``inputs/`` files (path -> bytes).
    """

    run_id: str
    command: str
    env: dict[str, str]
    files: dict[str, bytes]
    engine_exec_dir: str
    engine_root: str
    code: CodeRef
    grace: float = 10.0
    hyperstep_version: str = ""


@dataclass
class PullReply:
    """What a worker reports about one run when the engine pulls its output.

    ``state``: ``starting`` (the task runs, the process is not started yet), ``running``,
    ``ended`` (``exit.json`` is written) or ``unknown`` (this worker has no such run).
    ``exit`` is set only once ``stdout``/``stderr`` reach the end of both files, so an engine
    that writes ``exit.json`` when it gets ``exit`` has every byte before it.
    """

    state: Literal["starting", "running", "ended", "unknown"]
    stdout: bytes = b""
    stderr: bytes = b""
    child: dict[str, Any] | None = None
    exit: dict[str, Any] | None = None
    outputs_bytes: int = 0
    more: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
