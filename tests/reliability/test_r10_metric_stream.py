"""R10: what a program prints never breaks the engine; each odd case has a documented outcome.

Through the real engine (``hyperstep exec run``), one program prints, in order: a plain event;
``NaN``/``Infinity``; a JSON list, a number and a string; an event followed by invalid UTF-8; a
line of invalid UTF-8 only; a line over 1 MiB; a line on stderr; another event; and a last event
without a newline. Another program prints an event without its newline and SIGKILLs itself.

The parser's own property tests (1,000 arbitrary byte strings, never an exception) are in
``tests/metadata/test_metadata_properties.py``; the bounded-memory flood of a gigabyte without
a newline is in the slow tier here.
"""

from __future__ import annotations

import math
import threading
import time

import psutil
import pytest
from tests.invariants import wait_no_processes
from tests.reliability.support import Project

from hyperstep.store import Store

YAML = """
- step:
    name: edge
    image: python:3.11
    command: {probe} --edge-cases
- step:
    name: killed
    image: python:3.11
    command: {probe} --partial-then-kill
- step:
    name: flood
    image: python:3.11
    command: {probe} --flood-bytes 1073741824
"""


def _run(project: Project, step: str) -> tuple[dict, list, list]:
    res = project.cli("exec", "run", step, "--json")
    record = res.json()
    with Store.open(None, project.root) as store:
        events = [e.data for e in store.get_events(record["id"])]
        logs = store.get_logs(record["id"])
    return record, events, logs


def test_each_edge_case_has_its_documented_outcome(probe_project) -> None:
    project = probe_project(YAML)
    record, events, logs = _run(project, "edge")
    assert record["status"] == "complete"
    cases = [e.get("case") for e in events]
    # Events: objects only (first object on the line), in order; the last line needs no "\n".
    assert cases == ["plain", "nan", "bad utf8", "after stderr", "last, no newline"]
    nan_event = events[1]
    assert math.isnan(nan_event["m_nan"])
    assert nan_event["m_inf"] == math.inf and nan_event["m_ninf"] == -math.inf
    assert events[2]["m_bytes"] == 2  # invalid bytes after the object do not lose it
    assert events[4]["m_last"] == 4
    meta = record["cumulative_metadata"]
    assert (meta["m"], meta["m_last"], meta["case"]) == (3, 4, "last, no newline")
    stdout = [line.message for line in logs if line.stream == "stdout"]
    stderr = [line.message for line in logs if line.stream == "stderr"]
    # Lists, numbers and strings are log lines; so is every line, events included.
    assert "[1, 2, 3]" in stdout and "42" in stdout and '"just a string"' in stdout
    assert any("not utf-8 at all" in m and "\ufffd" in m for m in stdout)
    big = [m for m in stdout if m.startswith('{"case": "big"')]
    assert len(big) == 1 and len(big[0]) <= (1 << 20)  # cut in the store, not an event
    log_file = project.root / ".hyperstep" / "executions" / "1" / "stdout.log"
    assert log_file.stat().st_size > (1 << 20)  # the log file keeps every byte
    assert stderr == ["a line on stderr between events"]
    assert len(stdout) == 10  # one log line per line printed, none lost or split


def test_an_event_without_newline_is_kept_when_the_program_is_killed(probe_project) -> None:
    project = probe_project(YAML)
    record, events, _ = _run(project, "killed")
    assert record["status"] == "error"
    assert "signal 9" in record["status_detail"] or record["exit_code"] == 137
    assert events and events[-1]["m_killed"] == 5


@pytest.mark.slow
def test_a_gigabyte_without_newline_costs_bounded_memory(probe_project) -> None:
    project = probe_project(YAML)
    engine = project.engine("exec", "run", "flood", quiet=False)
    proc = psutil.Process(engine.pid)
    samples: list[int] = []
    baseline: list[int] = []

    def sample() -> None:
        while engine.poll() is None:
            try:
                rss = proc.memory_info().rss
            except psutil.Error:
                return
            if not baseline and (project.root / ".hyperstep" / "executions" / "1").exists():
                baseline.append(rss)
            samples.append(rss)
            time.sleep(0.05)

    thread = threading.Thread(target=sample)
    thread.start()
    _, err = engine.communicate(timeout=600)
    thread.join()
    assert engine.returncode == 0, err
    assert not wait_no_processes(project.root)
    growth = max(samples) - baseline[0]
    print(f"R10 flood: engine RSS growth {growth / 2**20:.1f} MiB over a 1 GiB line")
    assert growth < 50 * 2**20
