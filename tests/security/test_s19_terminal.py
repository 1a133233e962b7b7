"""S19: what a program printed cannot drive the user's terminal through ``hyperstep exec logs``.

The program prints CSI colours and a screen clear, a window title, an OSC 8 link, an OSC 52
clipboard write, a DCS string, an 8-bit CSI, a bell, a backspace and a carriage return hiding
``rm -rf ~``. ``exec logs`` prints the text with every escape sequence removed and every other
control character in caret notation, into a pipe and into a terminal (a pty, where hyperstep
colours stderr lines itself: those colour codes are the only escapes allowed). ``--raw``
prints the bytes the program wrote; ``--json`` escapes them.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.helpers import PYTHON, clean_env

from hyperstep.cli.exec_cmds import printable

YAML = """
- step:
    name: tricks
    image: python:3.11
    command: {python} {here}/escapes_program.py
"""

FORBIDDEN = ("\x1b", "\x07", "\x08", "\r", "\u009b")


def _project(sec_project):
    project = sec_project(YAML)
    res = project.cli("exec", "run", "tricks", "--quiet")
    assert res.returncode == 0, res
    return project


def test_logs_into_a_pipe_carry_no_escape(sec_project) -> None:
    project = _project(sec_project)
    out = subprocess.run(
        [PYTHON, "-m", "hyperstep", "exec", "logs", "1"],
        cwd=project.root,
        env=clean_env(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    for char in FORBIDDEN:
        assert char not in out, repr(char)
    lines = out.splitlines()
    assert lines[0] == "red and cleared"
    assert lines[3] == "clipboard" and "cm0gLXJmIH4K" not in out
    assert "rm -rf ~^Minnocent text" in out  # the hidden start is visible
    assert "bell^G and back^Hspace" in out
    assert lines[-1] == "on stderr"


def test_logs_into_a_terminal_carry_only_our_own_colours(sec_project) -> None:
    project = _project(sec_project)
    main, secondary = pty.openpty()
    proc = subprocess.Popen(
        [PYTHON, "-m", "hyperstep", "exec", "logs", "1"],
        cwd=project.root,
        env=clean_env({"TERM": "xterm"}),
        stdout=secondary,
        stderr=subprocess.DEVNULL,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the pty closes when the command ends
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(main)
    text = b"".join(chunks).decode()
    assert "on stderr" in text
    ours = text.replace("\x1b[31m", "").replace("\x1b[0m", "").replace("\r\n", "\n")
    for char in FORBIDDEN:
        assert char not in ours, repr(char)


def test_raw_and_json_keep_the_bytes(sec_project) -> None:
    project = _project(sec_project)
    raw = subprocess.run(
        [PYTHON, "-m", "hyperstep", "exec", "logs", "1", "--raw"],
        cwd=project.root,
        env=clean_env(),
        capture_output=True,
        check=True,
    ).stdout  # bytes: text mode would turn the carriage return into a newline
    assert b"\x1b]52;c;cm0gLXJmIH4K\x07clipboard" in raw
    assert b"rm -rf ~\rinnocent" in raw
    as_json = project.cli("exec", "logs", "1", "--json")
    assert "\x1b" not in as_json.stdout
    messages = [json.loads(line)["message"] for line in as_json.stdout.splitlines()]
    assert messages[0] == "\x1b[31mred\x1b[0m and \x1b[2J\x1b[Hcleared"


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_printable_never_lets_a_control_character_through(text: str) -> None:
    shown = printable(text)
    assert not any((ord(c) < 0x20 and c != "\t") or 0x7F <= ord(c) <= 0x9F for c in shown)
