"""Write the upgrade asset of the current schema: ``tests/upgrade_assets/<revision>/``.

    python tests/upgrade_assets/make_asset.py

Run it once per released schema (a new Alembic head), then commit the folder it writes. It runs
the real ``hyperstep`` on the project in ``0001/valohai.yaml`` (copied into the new folder when
it has none): the blueprint ``finished`` to the end, and ``unfinished`` (one execution at a
time) until the engine is SIGKILLed after storing its third proposal: two executions complete,
the third stored and never started, the fourth not yet proposed. The lease of the killed engine
is then given up, as an expired one would be, and the database is checkpointed so that the
single ``hyperstep.db`` file holds everything. Every stored command needs only ``/bin/sh``, so
the asset resumes on any machine.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(project: Path, *args: str, crash_at: str | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERSTEP_")}
    if crash_at:
        env["HYPERSTEP_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "hyperstep", *args], cwd=project, env=env, check=False
    ).returncode


def main() -> int:
    from hyperstep.store import Store
    from hyperstep.store.migrate import head_revision

    revision = head_revision()
    target = HERE / str(revision)
    target.mkdir(exist_ok=True)
    if not (target / "valohai.yaml").exists():
        shutil.copy(HERE / "0001" / "valohai.yaml", target / "valohai.yaml")
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        shutil.copy(target / "valohai.yaml", project / "valohai.yaml")
        if run(project, "task", "run", "finished", "--quiet") != 0:
            raise SystemExit("the finished task did not complete")
        code = run(
            project, "task", "run", "unfinished", "--quiet", crash_at="after_proposal_stored:3"
        )
        if code != -9:
            raise SystemExit(f"the unfinished task was not killed (exit {code})")
        time.sleep(1.0)  # its runners end on their own
        with Store.open(None, project) as store:
            task = store.get_task(counter=2)
            if task.lease_owner:
                store.release_lease(task.id, task.lease_owner)
        db = project / ".hyperstep" / "hyperstep.db"
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode = DELETE")
        shutil.copy(db, target / "hyperstep.db")
    print(f"wrote {target / 'hyperstep.db'} (schema {revision})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
