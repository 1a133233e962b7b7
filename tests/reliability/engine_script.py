"""Drive one task with a short lease, as ``hyperstep task resume`` would (for lease scenarios).

    python engine_script.py PROJECT_DIR TASK_COUNTER LEASE_TTL

The CLI always uses a 30 s lease; the lease scenarios need one of a second or two so that
expiry and take-over happen within a test. Prints the task's final status; a lost lease is a
ConflictError, printed on stderr with exit status 2 (as the CLI does).
"""

from __future__ import annotations

import sys

from hyperstep.engine.task import TaskRunner
from hyperstep.errors import HyperstepError
from hyperstep.service import context


def main(project: str, counter: int, ttl: float) -> int:
    with context(project) as ctx:
        task = ctx.store.get_task(counter=counter)
        runner = TaskRunner(ctx.store, ctx.project, ctx.supervisor(), task, lease_ttl=ttl)
        try:
            final = runner.run()
        except HyperstepError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(final.status.value)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
