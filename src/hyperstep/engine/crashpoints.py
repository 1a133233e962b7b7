"""Named points where a test can make the engine die, to prove that a restart loses nothing.

``HYPERSTEP_CRASH_AT=after_proposal_stored`` (optionally ``:N`` for the N-th time the point is
reached) makes the engine ``SIGKILL`` itself there. It is inert unless that variable is set.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "after_proposal_stored",
    "after_process_started",
    "after_process_ended",
    "during_optimizer_update",
)

_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL if the environment asks for a crash at ``name``."""
    wanted = os.environ.get("HYPERSTEP_CRASH_AT")
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
