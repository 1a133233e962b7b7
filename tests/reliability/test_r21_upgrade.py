"""R21: a database written by each released schema opens, keeps its rows, and resumes its task.

``tests/upgrade_assets/<revision>/`` holds a ``hyperstep.db`` written by that schema (see
``tests/upgrade_assets/make_asset.py``) and the ``valohai.yaml`` it was written for: a finished
task of three executions, and an unfinished one (two complete, one stored and never started, one
not yet proposed). Opening it migrates it to the current head; every row of every table keeps
its values; the unfinished task resumes to the end; the finished one is left as it was.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from tests.helpers import run_cli
from tests.invariants import check_task

from hyperstep.store import Store
from hyperstep.store.migrate import current_revision, head_revision

ASSETS = Path(__file__).resolve().parents[1] / "upgrade_assets"
REVISIONS = sorted(p.name for p in ASSETS.iterdir() if (p / "hyperstep.db").exists())
TABLES = ("tasks", "executions", "log_lines", "metadata_events", "counters")


def _rows(db: Path) -> dict[str, list[dict]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return {
            t: [dict(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in TABLES
        }
    finally:
        conn.close()


def _common(old: dict, new: dict) -> tuple[dict, dict]:
    keys = set(old) & set(new)
    return {k: old[k] for k in keys}, {k: new[k] for k in keys}


def test_there_is_an_asset_for_the_current_schema() -> None:
    assert head_revision() in REVISIONS, "run tests/upgrade_assets/make_asset.py and commit it"


@pytest.mark.parametrize("revision", REVISIONS)
def test_old_database_upgrades_keeps_rows_and_resumes(tmp_path: Path, revision: str) -> None:
    project = tmp_path / "project"
    (project / ".hyperstep").mkdir(parents=True)
    shutil.copy(ASSETS / revision / "valohai.yaml", project / "valohai.yaml")
    db = project / ".hyperstep" / "hyperstep.db"
    shutil.copy(ASSETS / revision / "hyperstep.db", db)
    before = _rows(db)

    listed = run_cli("task", "list", "--json", cwd=project)  # opening migrates to head
    assert listed.returncode == 0, listed
    with Store.open(None, project) as store, store._db.read() as conn:
        assert current_revision(conn) == head_revision()
    after = _rows(db)
    for table in TABLES:
        assert len(after[table]) == len(before[table]), table
        for old, new in zip(before[table], after[table]):
            assert _common(old, new)[0] == _common(old, new)[1], table

    res = run_cli("task", "resume", "2", "--json", cwd=project)
    assert res.returncode == 0, res
    assert res.json()["status"] == "complete"
    summary = check_task(project, 2, expected=4, metric="loss", runner_files=False)
    assert summary.statuses == ["complete"] * 4
    losses = sorted(r.cumulative_metadata["loss"] for r in summary.records)
    assert losses == [1.5, 2.5, 3.5, 4.5]
    finished = run_cli("task", "show", "1", "--json", cwd=project).json()
    assert finished["status"] == "complete" and len(finished["executions"]) == 3
