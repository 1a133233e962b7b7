"""A lease holder or a would-be taker, for the clock-skew scenario (R11); run under faketime.

    python lease_worker.py hold|take STORE_URL PROJECT_DIR TASK_ID SECONDS TTL

``hold`` takes the task's lease and renews it every TTL/4 seconds for SECONDS (until killed).
``take`` tries to take the lease every TTL/8 seconds, under another owner, for SECONDS or until
it succeeds. Each prints one JSON line: its own wall clock (skewed by faketime) and, for
``take``, the database time of every successful take-over.
"""

from __future__ import annotations

import json
import select
import sys
import time
from pathlib import Path

from hyperstep.store import Store


def pause(seconds: float) -> None:
    """Sleep; ``time.sleep`` fails under libfaketime with a negative offset, ``select`` works."""
    select.select([], [], [], seconds)


def main(role: str, url: str, root: str, task_id: str, seconds: float, ttl: float) -> int:
    store = Store.open(url, Path(root))
    owner = f"{role}-{time.monotonic_ns()}"
    taken: list[float] = []
    renewals = 0
    try:
        until = time.monotonic() + seconds
        if role == "hold":
            if not store.acquire_lease(task_id, owner, ttl):
                raise SystemExit("hold: the lease is not free")
            print(json.dumps({"role": role, "started": True}), flush=True)
            while time.monotonic() < until:
                pause(ttl / 4)
                if not store.renew_lease(task_id, owner, ttl):
                    raise SystemExit("hold: lost the lease")
                renewals += 1
        else:
            while time.monotonic() < until and not taken:
                if store.acquire_lease(task_id, owner, ttl):
                    taken.append(store.now())
                pause(ttl / 8)
    finally:
        store.close()
    print(json.dumps({"role": role, "wall": time.time(), "taken": taken, "renewals": renewals}))
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0], args[1], args[2], args[3], float(args[4]), float(args[5])))
