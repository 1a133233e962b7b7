"""The Dask executor's parts that need no cluster: resources, the project archive, the worker's
environment, and the worker agent's bookkeeping."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hyperstep.errors import ValidationError
from hyperstep.executors.dask import project_archive
from hyperstep.executors.dask.resources import (
    DEFAULT_RESOURCES,
    format_resources,
    map_onto_workers,
    parse_resources,
    step_requirements,
)
from hyperstep.executors.dask.worker import WorkerAgent, rewrite_env

# -- resources --------------------------------------------------------------------------------


def test_resources_are_parsed_from_the_command_line_or_a_table() -> None:
    assert parse_resources(None) == DEFAULT_RESOURCES == {"slots": 1.0}
    assert parse_resources("slots=2,GPU=1") == {"slots": 2.0, "GPU": 1.0}
    assert parse_resources("slots=2 GPU=1") == {"slots": 2.0, "GPU": 1.0}
    assert parse_resources({"slots": 1, "memory": 2048}) == {"slots": 1.0, "memory": 2048.0}
    assert parse_resources("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("slots", "NAME=NUMBER"),
        ("slots=x", "NAME=NUMBER"),
        ("slots=-1", "non-negative"),
        ("=1", "NAME=NUMBER"),
    ],
)
def test_bad_resources_name_the_option(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        parse_resources(text, field="--resources")
    assert str(caught.value).startswith("--resources: ")


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-/]{0,10}", fullmatch=True)
amounts = st.integers(min_value=0, max_value=10**6).map(float)


@given(st.dictionaries(names, amounts, max_size=5))
def test_formatted_resources_parse_back(resources: dict[str, float]) -> None:
    assert parse_resources(format_resources(resources)) == resources


def test_step_resources_map_onto_what_workers_offer() -> None:
    needs = step_requirements(
        {"cpu": {"min": 2}, "memory": {"min": 1024}, "devices": {"nvidia.com/gpu": 1}}
    )
    assert needs == {"cpu": 2.0, "memory": 1024.0, "nvidia.com/gpu": 1.0}
    mapped = map_onto_workers(
        {"slots": 1.0}, needs, {"slots", "GPU", "MEMORY"}, step="train", explicit=False
    )
    # no worker offers cpu: dropped; MEMORY is in bytes; the GPU is Dask's "GPU"
    assert mapped == {"slots": 1.0, "MEMORY": 1024.0 * 2**20, "GPU": 1.0}
    with pytest.raises(ValidationError, match=r"step 'train' needs 1 × nvidia.com/gpu") as e:
        map_onto_workers({"slots": 1.0}, needs, {"slots"}, step="train", explicit=False)
    assert e.value.field == "steps.train.resources.devices"


def test_the_default_slot_is_dropped_when_no_worker_has_slots() -> None:
    assert map_onto_workers({"slots": 1.0}, {}, set(), step="s", explicit=False) == {}
    with pytest.raises(ValidationError, match="no worker of the cluster offers the resource"):
        map_onto_workers({"slots": 1.0}, {}, set(), step="s", explicit=True)


# -- the project archive ----------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "train.py").write_text("print('train')\n")
    (root / "valohai.yaml").write_text("- step: {}\n")
    (root / "data").mkdir()
    (root / "data" / "big.bin").write_bytes(b"\0" * 1000)
    (root / "model.ckpt").write_text("weights")
    for hidden in (".hyperstep/executions/1", ".git", "__pycache__", ".venv/bin"):
        (root / hidden).mkdir(parents=True)
        (root / hidden / "file").write_text("not shipped")
    (root / "link.py").symlink_to("src/train.py")
    return root


def _names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return sorted(tar.getnames())


def test_the_archive_ships_the_code_and_nothing_else(tree: Path) -> None:
    archive = project_archive.build_archive(tree, exclude=["data/", "*.ckpt"])
    assert _names(archive.data) == ["link.py", "src/train.py", "valohai.yaml"]
    assert archive.files == 3


def test_the_archive_is_content_addressed(tree: Path) -> None:
    first = project_archive.build_archive(tree)
    again = project_archive.build_archive(tree)
    assert first.sha == again.sha and first.data == again.data
    (tree / "src" / "train.py").write_text("print('changed')\n")
    assert project_archive.build_archive(tree).sha != first.sha


def test_the_cache_rebuilds_only_when_files_change(tree: Path) -> None:
    cache = project_archive.ArchiveCache(recheck=0.0)
    first = cache.get(tree)
    assert cache.get(tree) is first
    (tree / "new.py").write_text("x = 1\n")
    assert cache.get(tree).sha != first.sha


def test_links_out_of_the_project_and_huge_projects_are_refused(tree: Path) -> None:
    with pytest.raises(ValidationError, match="more than 100 bytes"):
        project_archive.build_archive(tree, limit=100)
    (tree / "escape").symlink_to("/etc")
    with pytest.raises(ValidationError, match="outside the project"):
        project_archive.build_archive(tree)


def test_a_worker_unpacks_once_and_copies_per_run(tree: Path, tmp_path: Path) -> None:
    archive = project_archive.build_archive(tree, exclude=["data/"])
    code_root = tmp_path / "worker" / "code"
    unpacked = project_archive.unpack(code_root, archive.sha, archive.data)
    marker = unpacked / "src" / "train.py"
    mtime = marker.stat().st_mtime_ns
    assert project_archive.unpack(code_root, archive.sha, archive.data) == unpacked
    assert marker.stat().st_mtime_ns == mtime  # not unpacked again
    run = tmp_path / "worker" / "runs" / "1" / "repository"
    project_archive.copy_tree(unpacked, run)
    (run / "src" / "train.py").write_text("changed by a run\n")
    assert marker.read_text() == "print('train')\n"  # the next run gets the original
    assert os.readlink(run / "link.py") == "src/train.py"
    with pytest.raises(ValueError, match="SHA-256"):
        project_archive.unpack(code_root, "0" * 64, archive.data)


# -- the worker side --------------------------------------------------------------------------


def test_engine_folders_are_moved_to_the_worker_folders() -> None:
    env = {
        "VH_CONFIG_DIR": "/p/.hyperstep/executions/4/config",
        "VH_REPOSITORY_DIR": "/p",
        "OTHER": "/pp/x",
        "PLAIN": "value",
    }
    moved = rewrite_env(env, [("/p/.hyperstep/executions/4", "/w/run"), ("/p/", "/w/repo")])
    assert moved == {
        "VH_CONFIG_DIR": "/w/run/config",
        "VH_REPOSITORY_DIR": "/w/repo",
        "OTHER": "/pp/x",
        "PLAIN": "value",
    }


def test_a_stop_before_the_run_registers_refuses_it(tmp_path: Path) -> None:
    agent = WorkerAgent(tmp_path, "tcp://w:1")
    assert not agent.stop("run-1", 5.0)  # not here (yet): remembered
    from hyperstep.executors.dask.protocol import CodeRef, RunPayload

    payload = RunPayload(
        run_id="run-1",
        command="true",
        env={},
        files={},
        engine_exec_dir="/e",
        engine_root="/r",
        code=CodeRef("shared", path=str(tmp_path)),
    )
    result = agent.run(payload, None, claim=lambda: True)
    assert result == {"outcome": "refused", "reason": "stopped before it started"}
    assert (
        agent.run(RunPayload(**{**payload.__dict__, "run_id": "run-2"}), None, claim=lambda: False)[
            "outcome"
        ]
        == "refused"
    )


def test_a_run_that_cannot_start_records_why(tmp_path: Path) -> None:
    from hyperstep.executors.dask.protocol import CodeRef, RunPayload

    agent = WorkerAgent(tmp_path, "tcp://w:1")
    payload = RunPayload(
        run_id="run-3",
        command="true",
        env={},
        files={},
        engine_exec_dir="/e",
        engine_root="/r",
        code=CodeRef("shared", path=str(tmp_path / "missing")),
    )
    result = agent.run(payload, None, claim=lambda: True)
    assert result["outcome"] == "failed" and "does not exist" in result["error"]
    reply = agent.pull({"run-3": [0, 0]}, {"run-3"}, 1 << 20)["run-3"]
    assert reply.state == "ended" and reply.exit is not None
    assert reply.exit["exit_code"] == 127
    assert b"could not start on worker tcp://w:1" in reply.stderr
    assert agent.pull({"nope": [0, 0]}, {"nope"}, 1024)["nope"].state == "unknown"
    assert agent.forget(["run-3"]) == 1
