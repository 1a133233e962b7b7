"""One of several processes racing for the same work in one store (R16).

    python claim_worker.py STORE_URL PROJECT_DIR TASK_ID COUNT SEED

First it persists the task's proposals ``0..COUNT-1`` in batches of 50, in its own shuffled
order (every worker persists every index: ``create_task_executions`` must be idempotent under
concurrency). Then it claims executions with the compare-and-set ``created -> queued``, in
another shuffled order. Prints one JSON line: the ids it created-or-found per index, the ids it
claimed, and every error (which the test expects to be none).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from hyperstep.model import ExecutionStatus as S
from hyperstep.store import Store

TEMPLATE = ".hyperstep/executions/{counter}"


def main(url: str, root: str, task_id: str, count: int, seed: int) -> int:
    rng = random.Random(seed)
    store = Store.open(url, Path(root))
    errors: list[str] = []
    seen: dict[int, str] = {}
    claimed: list[str] = []
    try:
        indexes = list(range(count))
        batches = [indexes[i : i + 50] for i in range(0, count, 50)]
        rng.shuffle(batches)
        for batch in batches:
            items = [(i, {"i": i}, f"run {i}") for i in batch]
            try:
                for record in store.create_task_executions(task_id, items, TEMPLATE):
                    seen[int(record.task_index or 0)] = record.id
            except Exception as exc:
                errors.append(f"create: {type(exc).__name__}: {exc}"[:300])
        ids = list(seen.values())
        rng.shuffle(ids)
        for execution_id in ids:
            try:
                if store.transition(execution_id, [S.CREATED], S.QUEUED):
                    claimed.append(execution_id)
            except Exception as exc:
                errors.append(f"claim: {type(exc).__name__}: {exc}"[:300])
    finally:
        store.close()
    print(json.dumps({"seen": {str(k): v for k, v in seen.items()}, "claimed": claimed,
                      "errors": errors}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
