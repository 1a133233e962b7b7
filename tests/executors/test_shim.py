"""The runner shim on its own (as a Dask worker or a person would start it), and its files."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from tests.executors.support import PACKAGE_PARENT, python_env

from hyperstep.executors import ChildInfo, ExitInfo, process_group
from hyperstep.executors import exec_dir as files
from hyperstep.executors.shim import UsageError, parse_args


def run_shim(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hyperstep.executors.shim", *args],
        cwd=PACKAGE_PARENT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_shim_exits_with_the_command_status_and_records_it(tmp_path: Path) -> None:
    result = run_shim(
        "--dir", str(tmp_path), "--cwd", str(tmp_path), "--", "/bin/sh", "-c", "echo hi; exit 5"
    )

    assert result.returncode == 5
    assert result.stderr == ""  # no warning, no traceback from the shim itself
    record = json.loads((tmp_path / "exit.json").read_text())
    assert record["exit_code"] == 5 and record["signal"] is None
    assert (tmp_path / "stdout.log").read_text() == "hi\n"
    assert ChildInfo.from_json(json.loads((tmp_path / "pid.json").read_text())).shim_pid > 0
    # only the final files: the temporary names of the atomic writes are gone
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["exit.json", "heartbeat", "lock", "pid.json", "stderr.log", "stdout.log"]
    )


def test_a_second_shim_never_runs_in_a_locked_folder(tmp_path: Path) -> None:
    with open(tmp_path / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = run_shim(
            "--dir", str(tmp_path), "--cwd", str(tmp_path), "--lock-wait", "0.1", "--", "true"
        )

    assert result.returncode == files.EXIT_LOCKED
    assert "locked by another run" in result.stderr
    assert not (tmp_path / "pid.json").exists() and not (tmp_path / "exit.json").exists()


def test_a_shim_refuses_a_folder_that_already_holds_a_run(tmp_path: Path) -> None:
    assert run_shim("--dir", str(tmp_path), "--cwd", str(tmp_path), "--", "true").returncode == 0
    first = (tmp_path / "exit.json").read_text()

    result = run_shim("--dir", str(tmp_path), "--cwd", str(tmp_path), "--", "false")

    assert result.returncode == files.EXIT_ALREADY_RAN
    assert (tmp_path / "exit.json").read_text() == first


def test_a_bad_command_line_is_a_usage_error(tmp_path: Path) -> None:
    result = run_shim("--dir", str(tmp_path), "true")

    assert result.returncode == files.EXIT_USAGE
    assert "expected '--'" in result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dir", "d", "--cwd", "c", "--"], "no command"),
        (["--dir", "d", "--", "true"], "required"),
        (["--dir", "d", "--cwd", "c", "--grace", "--", "true"], "needs a value"),
        (["--dir", "d", "--cwd", "c", "--color", "red", "--", "true"], "unknown options"),
        (["--dir", "d", "--cwd", "c", "--grace", "soon", "--", "true"], "soon"),
    ],
)
def test_parse_args_names_what_is_wrong(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_args(argv)


def test_parse_args_keeps_the_command_verbatim() -> None:
    options = parse_args(
        ["--dir", "d", "--cwd", "c", "--grace", "2.5", "--", "/bin/sh", "-c", "a -- --dir b"]
    )

    assert options.command == ["/bin/sh", "-c", "a -- --dir b"]
    assert options.grace == 2.5
    assert options.exec_dir.is_absolute() and options.cwd.is_absolute()


def test_exit_info_round_trips_through_json() -> None:
    start = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    info = ExitInfo(
        exit_code=None,
        signal=9,
        start_time=start,
        end_time=start + timedelta(seconds=2.5),
        stop_requested=True,
        escalated=True,
    )

    assert ExitInfo.from_json(json.loads(json.dumps(info.to_json()))) == info
    assert info.duration == 2.5


def test_child_info_keeps_unknown_fields() -> None:
    data = {
        "shim_pid": 1,
        "child_pid": 2,
        "pgid": 2,
        "host": "h",
        "start_time": "2026-01-02T03:04:05",
        "cwd": "/x",
    }

    info = ChildInfo.from_json(data)

    assert info.start_time.tzinfo is not None  # a naive time is taken as UTC
    assert info.extra == {"cwd": "/x"}
    assert ChildInfo.from_json(info.to_json()) == info


def test_unreadable_records_read_as_missing(tmp_path: Path) -> None:
    (tmp_path / "exit.json").write_text('{"exit_code": 0')  # torn: never happens with
    (tmp_path / "pid.json").write_text("[1, 2]")  # atomic writes, but must not crash

    assert files.read_exit_info(tmp_path) is None
    assert files.read_child_info(tmp_path) is None


def test_lock_held_sees_a_lock_taken_elsewhere(tmp_path: Path) -> None:
    assert files.lock_held(tmp_path) is False  # no lock file: no shim ever started
    with open(tmp_path / "lock", "w") as lock:
        assert files.lock_held(tmp_path) is False
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert files.lock_held(tmp_path) is True
        fcntl.flock(lock, fcntl.LOCK_UN)
        assert files.lock_held(tmp_path) is False


def test_a_group_from_another_boot_is_never_signalled() -> None:
    info = ChildInfo(
        shim_pid=1,
        child_pid=1,
        pgid=1,
        host="h",
        start_time=datetime.now(timezone.utc),
        boot_id="another-boot",
    )

    assert process_group.owns_group(info) is False
    assert process_group.kill_recorded_group(info) is False


def test_an_empty_group_has_no_members() -> None:
    proc = subprocess.Popen(["true"], process_group=0)
    proc.wait()

    assert process_group.group_members(proc.pid) == []
    assert process_group.signal_group(proc.pid, 0) is False
