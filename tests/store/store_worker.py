"""A separate process that writes to a store the way an engine does (run by the store tests).

Usage: python store_worker.py URL ROOT LABEL N
Opens the store (migrating it if needed) and runs N executions through their life: create,
queue, output, complete. Prints one JSON line with the counters it got; any exception is
printed and the exit status is 1.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

from hyperstep.model import ExecutionStatus as S
from hyperstep.store import Store


def main(url: str, root: str, label: str, n: int) -> int:
    store = Store.open(url, Path(root))
    counters = []
    try:
        for i in range(n):
            rec = store.create_execution(
                step=label,
                parameters={"i": i, "worker": label},
                command=f"run {label} {i}",
                exec_dir_template=".hyperstep/executions/{counter}",
            )
            counters.append(rec.counter)
            if not store.transition(rec.id, [S.CREATED], S.QUEUED):
                raise AssertionError(f"#{rec.counter} was not created")
            now = time.time()
            lines = [("stdout", now, f"{label} {i} line {j}") for j in range(3)]
            store.append_output(
                rec.id,
                logs=[*lines, ("stderr", now, f"{label} {i} warning")],
                events=[(now, {"i": i, "loss": 1.0 / (i + 1)})],
                stdout_offset=100,
                stderr_offset=20,
            )
            if not store.transition(rec.id, [S.QUEUED], S.COMPLETE, exit_code=0):
                raise AssertionError(f"#{rec.counter} was not queued")
            if i % 50 == 0:
                store.list_executions(limit=20, order="-counter")  # a reader in between
    finally:
        store.close()
    print(json.dumps({"label": label, "counters": counters}))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
    except Exception:
        traceback.print_exc()
        sys.exit(1)
