"""LocalExecutor with real shims and real programs: results, output, stop, crashes, adoption."""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests.executors.support import (
    Runs,
    marked_processes,
    program,
    python_env,
    wait_until,
)
from tests.helpers import PROGRAMS

from hyperstep.errors import ConflictError, ValidationError
from hyperstep.executors import ExitInfo, LaunchSpec, LocalExecutor


def test_exit_code_and_output_are_recorded(runs: Runs) -> None:
    ref = runs.launch(program("fail.py", "--code", "3", "--lines", "2"))

    info = runs.wait(ref)

    assert (info.exit_code, info.signal) == (3, None)
    assert not info.stop_requested and not info.escalated and info.error is None
    assert info.start_time <= info.end_time
    assert runs.stdout(ref) == "line 1\nline 2\n"
    assert runs.stderr(ref) == "failing with code 3\n"


def test_success_reports_zero_and_every_metrics_line(runs: Runs) -> None:
    ref = runs.launch(program("metrics.py", "--epochs", "4", "--value", "0.25"))

    info = runs.wait(ref)

    assert info.exit_code == 0
    lines = [json.loads(line) for line in runs.stdout(ref).splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2, 3, 4]
    assert lines[-1]["loss"] == 0.25
    assert runs.stderr(ref) == "done\n"


def test_death_by_signal_records_the_signal_not_an_exit_code(runs: Runs) -> None:
    ref = runs.launch(program("fail.py", "--signal", "KILL"))

    info = runs.wait(ref)

    assert (info.exit_code, info.signal) == (None, signal.SIGKILL)
    assert not info.stop_requested


def test_ref_is_json_and_pid_record_describes_the_processes(runs: Runs) -> None:
    ref = runs.launch(program("hang.py"))
    runs.wait_output(ref, "ready")

    assert json.loads(json.dumps(ref)) == ref
    assert ref["kind"] == "local" and ref["host"] == socket.gethostname()
    info = runs.executor.child_info(ref)
    assert info is not None
    assert info.shim_pid == ref["shim_pid"]
    assert f"ready {info.child_pid}" in runs.stdout(ref)  # exec: the program is the child
    # the command leads its own group, apart from the shim's session, which is apart from ours
    assert info.pgid == info.child_pid == os.getpgid(info.child_pid)
    assert os.getsid(info.shim_pid) == info.shim_pid != os.getsid(0)
    assert info.pgid != os.getpgid(info.shim_pid)
    assert info.host == socket.gethostname()
    assert runs.executor.state(ref) == "running"
    assert runs.executor.exit_info(ref) is None


def test_environment_arguments_and_working_folder_reach_the_program(
    runs: Runs, tmp_path: Path
) -> None:
    dump = tmp_path / "dump.json"
    hostile = "; touch PWNED $(touch PWNED) `touch PWNED` 'quoted' \"dq\" --x=1 ✓"
    ref = runs.launch(
        program("dump_argv.py", "--name=" + hostile, "plain"),
        DUMP_ARGV_FILE=str(dump),
        DUMP_ENV="HYPERSTEP_TEST_MARKER",
        PYTHONUNBUFFERED="0",
    )

    assert runs.wait(ref).exit_code == 0
    record = json.loads(dump.read_text())
    assert record["argv"] == ["--name=" + hostile, "plain"]
    assert record["cwd"] == str(PROGRAMS)
    assert record["env"]["VH_JOB_ID"] == "1"
    assert record["env"]["PYTHONUNBUFFERED"] == "1"  # set by the executor
    assert record["env"]["HYPERSTEP_TEST_MARKER"] == runs.marker
    assert not (PROGRAMS / "PWNED").exists()


def test_relative_paths_are_taken_from_the_launching_process(
    runs: Runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path)
    spec = runs.spec("pwd", name="rel")
    spec = LaunchSpec(Path("runs/rel"), spec.command, Path("project"), spec.env)

    ref = runs.executor.launch(spec)

    assert Path(ref["exec_dir"]) == tmp_path / "runs" / "rel"
    assert runs.wait(ref).exit_code == 0
    assert runs.stdout(ref).strip() == str(tmp_path / "project")


def test_stop_ends_the_whole_group_including_grandchildren(runs: Runs) -> None:
    ref = runs.launch(program("spawn_child.py"))
    runs.wait_output(ref, "ready")
    assert len(runs.alive_commands()) == 2

    runs.executor.stop(ref, grace=10.0)
    info = runs.wait(ref)

    assert info.signal == signal.SIGTERM and info.stop_requested and not info.escalated
    assert runs.alive_commands() == []


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(runs: Runs) -> None:
    ref = runs.launch(program("spawn_child.py", "--ignore-sigterm"))
    runs.wait_output(ref, "ready")

    runs.executor.stop(ref, grace=0.3)
    info = runs.wait(ref)

    assert info.signal == signal.SIGKILL
    assert info.stop_requested and info.escalated
    assert runs.alive_commands() == []


def test_stop_grace_overrides_the_executor_default(runs: Runs) -> None:
    runs.executor = LocalExecutor(grace=3600.0)
    ref = runs.launch(program("ignore_sigterm.py"))
    runs.wait_output(ref, "ready")

    runs.executor.stop(ref, grace=0.2)
    info = runs.wait(ref)  # with the default grace this would time out

    assert info.signal == signal.SIGKILL and info.escalated
    assert "ignoring SIGTERM" in runs.stdout(ref)


def test_stop_of_an_exited_run_does_nothing(runs: Runs) -> None:
    ref = runs.launch("true")
    before = runs.wait(ref)

    runs.executor.stop(ref, grace=0.0)

    assert runs.executor.exit_info(ref) == before
    assert not (Path(ref["exec_dir"]) / "stop.json").exists()


def test_signals_sent_to_the_shim_are_forwarded_to_the_command(runs: Runs) -> None:
    ref = runs.launch(program("hang.py"))
    runs.wait_output(ref, "ready")

    os.kill(ref["shim_pid"], signal.SIGINT)
    info = runs.wait(ref)

    assert info.signal == signal.SIGINT and info.stop_requested


def test_processes_left_behind_by_the_command_end_before_the_result(runs: Runs) -> None:
    ref = runs.launch(program("spawn_child.py", "--then", "exit"))

    info = runs.wait(ref)

    assert info.exit_code == 0 and not info.stop_requested
    assert "grandchild" in runs.stdout(ref)
    assert runs.alive_commands() == []


def test_a_shim_outlives_the_process_that_launched_it(runs: Runs, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    command = f"while [ ! -e {shlex.quote(str(gate))} ]; do sleep 0.02; done; " + program(
        "metrics.py", "--epochs", "3"
    )
    spec = runs.spec(command, name="orphan")
    launcher_code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from hyperstep.executors import LaunchSpec, LocalExecutor\n"
        "spec = LaunchSpec(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), "
        "json.loads(sys.argv[4]))\n"
        "print(json.dumps(LocalExecutor().launch(spec)), flush=True)\n"
        "import time; time.sleep(3600)\n"
    )
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-c",
            launcher_code,
            str(spec.exec_dir),
            spec.command,
            str(spec.cwd),
            json.dumps(spec.env),
        ],
        env=python_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert launcher.stdout is not None
    launched = json.loads(launcher.stdout.readline())
    launcher.kill()
    launcher.wait()

    # a new engine finds the run from its folder alone
    executor = LocalExecutor()
    ref = executor.adopt(spec.exec_dir)
    assert ref is not None and ref == launched
    assert executor.state(ref) == "running"
    gate.touch()
    wait_until(lambda: executor.state(ref) != "running", what="the adopted run to end")
    info = executor.exit_info(ref)
    assert info is not None and info.exit_code == 0
    assert len(runs.stdout(ref).splitlines()) == 3


def test_a_killed_shim_is_lost_and_cleanup_kills_its_group(runs: Runs) -> None:
    ref = runs.launch(program("spawn_child.py"))
    runs.wait_output(ref, "ready")

    os.kill(ref["shim_pid"], signal.SIGKILL)
    wait_until(lambda: runs.executor.state(ref) == "lost", what="the run to be lost")
    assert len(runs.alive_commands()) == 2  # the command does not die with its shim
    runs.executor.cleanup_lost(ref)

    assert runs.alive_commands() == []
    assert runs.executor.state(ref) == "lost"
    assert runs.executor.exit_info(ref) is None


def test_stopping_a_lost_run_signals_its_group_directly(runs: Runs) -> None:
    ref = runs.launch(program("ignore_sigterm.py"))
    runs.wait_output(ref, "ready")
    os.kill(ref["shim_pid"], signal.SIGKILL)
    wait_until(lambda: runs.executor.state(ref) == "lost", what="the run to be lost")

    runs.executor.stop(ref, grace=0.2)

    wait_until(lambda: not runs.alive_commands(), what="SIGKILL after the grace period")
    assert "ignoring SIGTERM" in runs.stdout(ref)


def test_kill_group_refuses_a_group_whose_leader_pid_was_reused(runs: Runs) -> None:
    ref = runs.launch(program("hang.py"))
    runs.wait_output(ref, "ready")
    pid_file = Path(ref["exec_dir"]) / "pid.json"
    record = json.loads(pid_file.read_text())
    record["child_create_time"] -= 1000.0  # as if the pid now belonged to another process
    pid_file.write_text(json.dumps(record))

    assert runs.executor.kill_group(ref) is False
    assert runs.executor.state(ref) == "running"


def test_heartbeat_advances_while_the_shim_lives(runs: Runs) -> None:
    runs.executor = LocalExecutor()
    ref = runs.launch(program("hang.py"))
    first = runs.executor.heartbeat(ref)
    assert first is not None

    wait_until(lambda: (runs.executor.heartbeat(ref) or 0) > first, what="a newer heartbeat")


def test_a_command_that_cannot_start_is_an_exit_with_an_error(runs: Runs, tmp_path: Path) -> None:
    spec = runs.spec("true", name="nocwd")
    spec = LaunchSpec(spec.exec_dir, spec.command, tmp_path / "missing", spec.env)

    ref = runs.executor.launch(spec)
    info = runs.wait(ref)

    assert info.exit_code == 127 and info.error is not None
    assert str(tmp_path / "missing") in info.error
    assert "could not start the command" in runs.stderr(ref)


def test_a_folder_that_holds_a_run_is_never_launched_again(runs: Runs) -> None:
    ref = runs.launch("true")
    runs.wait(ref)

    with pytest.raises(ConflictError, match="already holds a run"):
        runs.launch("true")


def test_a_locked_folder_is_not_launched_into(runs: Runs) -> None:
    exec_dir = runs.root / "locked"
    exec_dir.mkdir(parents=True)
    with open(exec_dir / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(ConflictError):
            runs.launch("true", name="locked")
    assert not (exec_dir / "pid.json").exists()


def test_nul_in_a_command_is_refused_before_anything_runs(runs: Runs) -> None:
    with pytest.raises(ValidationError, match="NUL"):
        runs.launch("echo a\0b")
    assert not runs.root.exists()


def test_adopt_finds_nothing_in_an_unused_folder(runs: Runs, tmp_path: Path) -> None:
    assert runs.executor.adopt(tmp_path / "never-used") is None


def test_adopt_of_a_finished_run_reads_its_result(runs: Runs) -> None:
    ref = runs.launch(program("fail.py", "--code", "5"))
    runs.wait(ref)

    adopted = LocalExecutor().adopt(Path(ref["exec_dir"]))

    assert adopted == ref
    fresh = LocalExecutor()
    assert fresh.state(adopted) == "exited"
    info = fresh.exit_info(adopted)
    assert isinstance(info, ExitInfo) and info.exit_code == 5


def test_the_marker_scan_sees_the_shim_and_the_command(runs: Runs) -> None:
    ref = runs.launch(program("hang.py"))
    runs.wait_output(ref, "ready")
    info = runs.executor.child_info(ref)
    assert info is not None

    assert {p.pid for p in marked_processes(runs.marker)} == {info.shim_pid, info.child_pid}
    assert [p.pid for p in runs.alive_commands()] == [info.child_pid]
