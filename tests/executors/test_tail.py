"""OutputTail: complete lines only, exact resumable offsets, bounded memory on floods."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psutil
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.executors.support import Runs, program

from hyperstep.executors import OutputLine, OutputTail
from hyperstep.metadata import MAX_LINE, LineSplitter

MiB = 1 << 20


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


def drain(tail: OutputTail, max_bytes: int = 4 * MiB) -> list[OutputLine]:
    """Everything left once the command has exited, as the engine reads it."""
    lines: list[OutputLine] = []
    while True:
        got = tail.finish(max_bytes)
        lines.extend(got)
        if not got and not tail.pending:
            return lines


def test_a_line_is_returned_only_once_complete(tmp_path: Path) -> None:
    out = tmp_path / "stdout.log"
    append(out, b"first\nsec")
    tail = OutputTail(tmp_path)

    assert tail.read() == [("stdout", b"first")]
    assert tail.offsets == (6, 0)
    assert tail.read() == []
    append(out, b"ond\r\nthird\n")
    assert tail.read() == [("stdout", b"second"), ("stdout", b"third")]
    assert tail.offsets == (6 + 8 + 6, 0)
    assert not tail.pending


def test_both_streams_are_read_with_their_own_offsets(tmp_path: Path) -> None:
    append(tmp_path / "stdout.log", b'{"loss": 1}\n')
    append(tmp_path / "stderr.log", b"warning: x\nTraceback")
    tail = OutputTail(tmp_path)

    assert tail.read() == [("stdout", b'{"loss": 1}'), ("stderr", b"warning: x")]
    assert tail.offsets == (12, 11)


def test_finish_returns_a_last_line_without_newline(tmp_path: Path) -> None:
    append(tmp_path / "stderr.log", b"one\nkilled mid-li")
    tail = OutputTail(tmp_path)
    assert tail.read() == [("stderr", b"one")]

    assert tail.finish() == [("stderr", b"killed mid-li")]
    assert tail.offsets == (0, len(b"one\nkilled mid-li"))
    assert tail.finish() == []


def test_missing_files_are_empty(tmp_path: Path) -> None:
    tail = OutputTail(tmp_path / "not-started")

    assert tail.read() == [] and tail.finish() == []
    assert tail.offsets == (0, 0) and not tail.pending


def test_a_tail_resumed_from_offsets_continues_with_the_next_line(tmp_path: Path) -> None:
    out = tmp_path / "stdout.log"
    append(out, b"a\nb\npartial")
    first = OutputTail(tmp_path)
    assert [line for _, line in first.read()] == [b"a", b"b"]

    append(out, b" line\nc\n")
    resumed = OutputTail(tmp_path, *first.offsets)

    assert [line for _, line in resumed.read()] == [b"partial line", b"c"]


def test_a_long_line_is_cut_and_the_next_line_is_intact(tmp_path: Path) -> None:
    append(tmp_path / "stdout.log", b"y" * 5000 + b"\nafter\n")
    tail = OutputTail(tmp_path, max_line=100)

    lines = [line for _, line in drain(tail, max_bytes=64)]

    assert lines == [b"y" * 100 + " …[truncated 4900 bytes]".encode(), b"after"]
    assert tail.offsets == (5000 + 1 + 6, 0)


def test_read_returns_at_most_about_max_bytes(tmp_path: Path) -> None:
    append(tmp_path / "stdout.log", b"".join(b"%09d\n" % i for i in range(1000)))
    tail = OutputTail(tmp_path)

    batches = []
    while batch := tail.read(max_bytes=2000):
        batches.append(batch)

    assert all(sum(len(line) for _, line in batch) <= 1000 + 9 for batch in batches)
    assert [int(line) for batch in batches for _, line in batch] == list(range(1000))


_lines = st.lists(
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(
    lines=_lines,
    tail_text=st.binary(max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
    restarts=st.sets(st.integers(min_value=0, max_value=14), max_size=5),
    max_bytes=st.integers(min_value=2, max_value=200),
    max_line=st.sampled_from([8, 1000]),
    restart_at_end=st.booleans(),
)
def test_resuming_from_offsets_never_duplicates_or_skips_a_line(
    lines: list[bytes],
    tail_text: bytes,
    cuts: list[int],
    restarts: set[int],
    max_bytes: int,
    max_line: int,
    restart_at_end: bool,
) -> None:
    """Written in random pieces, read with random budgets, restarted from stored offsets
    at random moments: the lines are exactly those of reading the whole file at once."""
    content = b"".join(line + b"\n" for line in lines) + tail_text.replace(b"\n", b"")
    expected_splitter = LineSplitter(max_line)
    expected = expected_splitter.feed(content) + expected_splitter.flush()
    bounds = sorted({min(cut, len(content)) for cut in cuts} | {len(content)})

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / "stdout.log"
        path.touch()
        tail = OutputTail(root, max_line=max_line)
        got: list[bytes] = []
        written = 0
        for step, bound in enumerate(bounds):
            append(path, content[written:bound])
            written = bound
            got.extend(line for _, line in tail.read(max_bytes))
            if step in restarts:
                tail = OutputTail(root, *tail.offsets, max_line=max_line)
        if restart_at_end:
            tail = OutputTail(root, *tail.offsets, max_line=max_line)
        got.extend(line for _, line in drain(tail, max_bytes))

    assert got == expected
    assert tail.offsets == (len(content), 0)


def _rss() -> int:
    return psutil.Process().memory_info().rss


def test_two_hundred_thousand_lines_in_bounded_memory(runs: Runs) -> None:
    ref = runs.launch(program("flood.py", "--lines", "200000"))
    tail = OutputTail(Path(ref["exec_dir"]))
    before = peak = _rss()
    count = 0
    last = b""

    while runs.executor.state(ref) == "running" or tail.pending:
        for _, line in tail.read(max_bytes=256 * 1024):
            count += 1
            last = line
        peak = max(peak, _rss())
    for _, line in drain(tail):
        count += 1
        last = line

    info = runs.executor.exit_info(ref)
    assert info is not None and info.exit_code == 0
    assert count == 200_000 and last == b"line 200000"
    assert tail.offsets == (200_000 * len(b"line 000001\n"), 0)
    assert peak - before < 100 * MiB


def test_a_fifty_megabyte_line_in_bounded_memory(runs: Runs) -> None:
    size = 50 * 1000 * 1000
    ref = runs.launch(program("flood.py", "--bytes", str(size)))
    runs.wait(ref)
    tail = OutputTail(Path(ref["exec_dir"]))
    before = peak = _rss()

    lines: list[OutputLine] = []
    while True:
        got = tail.finish()
        peak = max(peak, _rss())
        lines.extend(got)
        if not got and not tail.pending:
            break

    assert len(lines) == 1
    stream, line = lines[0]
    assert stream == "stdout"
    assert line == b"x" * MAX_LINE + f" …[truncated {size - MAX_LINE} bytes]".encode()
    assert tail.offsets == (size + 1, 0)
    assert peak - before < 40 * MiB  # less than the line itself: it is never held whole
