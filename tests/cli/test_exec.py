"""``hyperstep exec``: one execution end to end, through the real command in a subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from tests.helpers import PYTHON, clean_env, run_cli

PROJECT = """
- step:
    name: train
    image: python:3.11
    command: {python} {programs}/metrics.py {parameters}
    parameters:
      - name: epochs
        type: integer
        default: 3
        min: 1
        max: 1000
      - name: sleep
        type: float
        default: 0.0
      - name: value
        type: float
        default: 0.5
- step:
    name: argv
    image: python:3.11
    command: {python} {programs}/dump_argv.py {parameters}
    parameters:
      - name: text
        type: string
        default: hello
      - name: mode
        type: string
        default: a
        choices: [a, b]
      - name: verbose
        type: flag
        default: false
- step:
    name: fail
    image: python:3.11
    command: {python} {programs}/fail.py --code 3
- step:
    name: hang
    image: python:3.11
    command: {python} {programs}/hang.py
- step:
    name: stubborn
    image: python:3.11
    command: {python} {programs}/ignore_sigterm.py
"""


@pytest.fixture
def project(make_project):
    return make_project(PROJECT)


def test_exec_run_records_execution_logs_and_metadata(project: Path) -> None:
    res = run_cli("exec", "run", "train", "--epochs=4", "--value", "0.25", cwd=project)
    assert res.returncode == 0, res
    show = run_cli("exec", "show", "1", "--json", cwd=project)
    assert show.returncode == 0, show
    data = show.json()
    assert data["counter"] == 1
    assert data["status"] == "complete"
    assert data["step"] == "train"
    assert data["parameters"]["epochs"] == 4
    assert data["parameters"]["value"] == 0.25
    assert data["exit_code"] == 0
    assert "--epochs=4" in data["command"]
    assert data["duration"] is not None and data["duration"] >= 0
    assert data["ctime"] and data["end_time"]
    assert data["cumulative_metadata"]["epoch"] == 4  # the latest value
    assert data["cumulative_metadata"]["loss"] == 0.25
    logs = run_cli("exec", "logs", "1", "--json", cwd=project)
    lines = [json.loads(line) for line in logs.stdout.splitlines()]
    assert sum(1 for line in lines if line["message"].startswith("{")) == 4


def test_counters_increase_and_survive_restart(project: Path) -> None:
    assert run_cli("exec", "run", "train", "--epochs=1", cwd=project).returncode == 0
    assert run_cli("exec", "run", "train", "--epochs=1", cwd=project).returncode == 0
    listing = run_cli("exec", "list", "--json", cwd=project).json()
    assert [e["counter"] for e in listing] == [2, 1]


def test_failing_execution_exits_1_and_records_error(project: Path) -> None:
    res = run_cli("exec", "run", "fail", cwd=project)
    assert res.returncode == 1, res
    data = run_cli("exec", "show", "1", "--json", cwd=project).json()
    assert data["status"] == "error"
    assert data["exit_code"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["exec", "run", "nope"], "nope"),
        (["exec", "run", "train", "--bogus=1"], "bogus"),
        (["exec", "run", "train", "--epochs=abc"], "epochs"),
        (["exec", "run", "train", "--epochs=0"], "minimum"),
        (["exec", "run", "argv", "--mode=c"], "choices"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(
    project: Path, args: list[str], message: str
) -> None:
    res = run_cli(*args, cwd=project)
    assert res.returncode == 2, res
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert run_cli("exec", "list", "--json", cwd=project).json() == []


def test_bad_yaml_is_a_clear_error(make_project) -> None:
    root = make_project("- step:\n    name: x\n   bad: [\n")
    res = run_cli("exec", "run", "x", cwd=root)
    assert res.returncode == 2
    assert "valohai.yaml" in res.stderr
    assert "Traceback" not in res.stderr


NASTY = [
    "; rm -rf ~",
    "$(touch PWNED)",
    "`touch PWNED`",
    'it\'s "quoted"',
    "line1\nline2",
    "--leading-dashes",
    "with spaces  and\ttabs",
    "ünïcødé ✓",
]


@pytest.mark.parametrize("value", NASTY)
def test_argument_integrity(project: Path, value: str) -> None:
    res = run_cli("exec", "run", "argv", f"--text={value}", "--json", cwd=project)
    assert res.returncode == 0, res
    meta = res.json()["cumulative_metadata"]
    assert meta["argv"] == [f"--text={value}", "--mode=a"]
    assert not (project / "PWNED").exists()
    assert not Path("PWNED").exists()


def test_nul_byte_is_refused(project: Path) -> None:
    # A NUL cannot travel in argv, so the check is reached through the service (as the API does).
    from hyperstep.errors import ValidationError
    from hyperstep.service import context, create_execution

    with context(project) as ctx:
        with pytest.raises(ValidationError, match="text"):
            create_execution(ctx, "argv", {"text": "a\x00b"})
        assert ctx.store.list_executions() == []


def test_flags(project: Path) -> None:
    res = run_cli("exec", "run", "argv", "--verbose", "--json", cwd=project)
    assert res.json()["cumulative_metadata"]["argv"] == ["--text=hello", "--mode=a", "--verbose"]
    res = run_cli("exec", "run", "argv", "--no-verbose", "--json", cwd=project)
    assert res.json()["cumulative_metadata"]["argv"] == ["--text=hello", "--mode=a"]


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _started(project: Path) -> bool:
    res = run_cli("exec", "list", "--json", cwd=project)
    return bool(res.returncode == 0 and res.json() and res.json()[0]["status"] == "started")


def test_ctrl_c_stops_the_execution_and_records_stopped(project: Path) -> None:
    env = clean_env()
    proc = subprocess.Popen(
        [PYTHON, "-m", "hyperstep", "exec", "run", "hang"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _wait_for(lambda: _started(project))
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 1
    data = run_cli("exec", "show", "1", "--json", cwd=project).json()
    assert data["status"] == "stopped"
    assert data["pid"] is not None
    assert not psutil.pid_exists(data["pid"]) or psutil.Process(data["pid"]).status() == "zombie"


def test_exec_stop_from_another_process_escalates_to_sigkill(project: Path) -> None:
    env = clean_env()
    proc = subprocess.Popen(
        [PYTHON, "-m", "hyperstep", "exec", "run", "stubborn"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _wait_for(lambda: _started(project))
    res = run_cli("exec", "stop", "1", cwd=project)
    assert res.returncode == 0, res
    assert proc.wait(timeout=60) == 1
    data = run_cli("exec", "show", "1", "--json", cwd=project).json()
    assert data["status"] == "stopped"


def test_two_exec_runs_at_once_on_one_sqlite_store(project: Path) -> None:
    env = clean_env()
    procs = [
        subprocess.Popen(
            [PYTHON, "-m", "hyperstep", "exec", "run", "train", "--epochs=200", "--quiet"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert b"locked" not in err
    listing = run_cli("exec", "list", "--json", cwd=project).json()
    assert sorted(e["counter"] for e in listing) == [1, 2]
    assert all(e["cumulative_metadata"]["epoch"] == 200 for e in listing)


def test_valohai_utils_script_runs_unchanged(tmp_path: Path) -> None:
    pytest.importorskip("valohai")
    root = tmp_path / "vu"
    root.mkdir()
    (root / "train.py").write_text(
        "import valohai\n"
        "valohai.prepare(step='train', default_parameters={'lr': 0.5, 'units': 8})\n"
        "lr = valohai.parameters('lr').value\n"
        "units = valohai.parameters('units').value\n"
        "with valohai.logger() as logger:\n"
        "    logger.log('lr_seen', lr)\n"
        "    logger.log('units_seen', units)\n"
        "open(valohai.outputs().path('result.txt'), 'w').write(str(lr))\n",
        encoding="utf-8",
    )
    (root / "valohai.yaml").write_text(
        "- step:\n"
        "    name: train\n"
        "    image: python:3.11\n"
        f"    command: {PYTHON} train.py {{parameters}}\n"
        "    parameters:\n"
        "      - name: lr\n        type: float\n        default: 0.5\n"
        "      - name: units\n        type: integer\n        default: 8\n",
        encoding="utf-8",
    )
    res = run_cli("exec", "run", "train", "--lr=0.01", "--units=32", "--json", cwd=root)
    assert res.returncode == 0, res
    data = res.json()
    assert data["cumulative_metadata"]["lr_seen"] == 0.01
    assert data["cumulative_metadata"]["units_seen"] == 32
    outputs = root / data["exec_dir"] / "outputs" / "result.txt"
    assert outputs.read_text() == "0.01"
    params = json.loads((root / data["exec_dir"] / "config" / "parameters.json").read_text())
    assert params == {"lr": 0.01, "units": 32}


def test_exec_run_against_postgresql(project: Path, pg_url: str) -> None:
    res = run_cli("--store", pg_url, "exec", "run", "train", "--epochs=2", "--json", cwd=project)
    assert res.returncode == 0, res
    assert res.json()["cumulative_metadata"]["epoch"] == 2
    listing = run_cli("--store", pg_url, "exec", "list", "--json", cwd=project).json()
    assert [e["counter"] for e in listing] == [1]
    # SQLite was not touched
    assert not (project / ".hyperstep" / "hyperstep.db").exists()


FLOOD = """
- step:
    name: lines
    image: python:3.11
    command: {python} {programs}/flood.py --lines 200000
- step:
    name: hugeline
    image: python:3.11
    command: {python} {programs}/flood.py --bytes 52428800
"""


def _peak_rss_of(cmd: list[str], cwd: Path) -> tuple[int, int]:
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0
    handle = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            peak = max(peak, handle.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    proc.wait()
    return proc.returncode, peak


@pytest.mark.parametrize("step", ["lines", "hugeline"])
def test_floods_are_recorded_with_bounded_memory(make_project, step: str) -> None:
    project = make_project(FLOOD)
    code, peak = _peak_rss_of([PYTHON, "-m", "hyperstep", "exec", "run", step, "--quiet"], project)
    assert code == 0
    baseline = _peak_rss_of([PYTHON, "-m", "hyperstep", "exec", "list"], project)[1]
    assert peak - baseline < 100 * 2**20, (peak, baseline)
    from hyperstep.service import context

    with context(project) as ctx:
        record = ctx.store.get_execution(counter=1)
        if step == "lines":
            assert record.n_log_lines == 200_000
            last = ctx.store.get_logs(record.id, after_seq=199_999)
            assert [line.message for line in last] == ["line 200000"]
        else:
            logs = ctx.store.get_logs(record.id)
            assert len(logs) == 1 and "truncated" in logs[0].message
            assert (project / record.exec_dir / "stdout.log").stat().st_size == 52428800 + 1
