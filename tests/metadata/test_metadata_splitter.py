"""LineSplitter: stdout bytes into lines, incrementally, in bounded memory."""

from __future__ import annotations

import pytest

from hyperstep.metadata import MAX_LINE, LineSplitter


def split_all(chunks: list[bytes], max_line: int = MAX_LINE) -> list[bytes]:
    splitter = LineSplitter(max_line)
    lines: list[bytes] = []
    for chunk in chunks:
        lines += splitter.feed(chunk)
    return lines + splitter.flush()


def test_lines_come_out_as_their_newline_arrives():
    splitter = LineSplitter()
    assert splitter.feed(b"one\ntw") == [b"one"]
    assert splitter.feed(b"o") == []
    assert splitter.feed(b"\nthree\n\nfour") == [b"two", b"three", b""]
    assert splitter.flush() == [b"four"]
    assert splitter.flush() == []


def test_crlf_endings_are_removed_even_split_across_chunks():
    assert split_all([b"a\r\nb\r", b"\nc\r\n"]) == [b"a", b"b", b"c"]


def test_a_lone_carriage_return_stays_in_the_line():
    assert split_all([b"10%\r20%\r30%\n"]) == [b"10%\r20%\r30%"]


def test_empty_input_and_empty_chunks():
    assert split_all([]) == []
    assert split_all([b"", b"", b"x", b"", b"\n"]) == [b"x"]


def test_a_line_of_exactly_max_line_is_kept_whole():
    assert split_all([b"x" * 10 + b"\n"], max_line=10) == [b"x" * 10]
    assert split_all([b"x" * 10 + b"\r\n"], max_line=10) == [b"x" * 10]


def test_a_long_line_is_cut_with_a_marker_counting_the_dropped_bytes():
    lines = split_all([b"a" * 25 + b"\nnext\n"], max_line=10)
    assert lines == [("a" * 10 + " …[truncated 15 bytes]").encode(), b"next"]


def test_a_long_line_arriving_in_many_chunks():
    chunks = [b"b" * 7 for _ in range(100)] + [b"\r\n", b"tail"]
    lines = split_all(chunks, max_line=10)
    assert lines == [("b" * 10 + " …[truncated 690 bytes]").encode(), b"tail"]


def test_a_long_unterminated_line_is_cut_at_flush():
    splitter = LineSplitter(max_line=4)
    assert splitter.feed(b"abcdefgh") == []
    assert splitter.flush() == ["abcd …[truncated 4 bytes]".encode()]


def test_cutting_never_splits_a_utf8_character():
    text = "é" * 10  # two bytes each
    lines = split_all([text.encode() + b"\n"], max_line=5)
    assert lines == ["éé …[truncated 16 bytes]".encode()]
    lines[0].decode("utf-8")  # strict: would raise on half a character
    euro = "€€€".encode()  # three bytes each
    assert split_all([euro + b"\n"], max_line=4) == ["€ …[truncated 6 bytes]".encode()]


def test_memory_stays_bounded_for_a_flood_without_newlines():
    splitter = LineSplitter(max_line=1024)
    chunk = b"z" * 65536
    for _ in range(256):  # 16 MiB
        assert splitter.feed(chunk) == []
    assert len(splitter._buffer) <= 1024
    (line,) = splitter.flush()
    assert line.startswith(b"z" * 1024)
    assert line.endswith(f"[truncated {16 * 2**20 - 1024} bytes]".encode())


def test_max_line_must_be_positive():
    with pytest.raises(ValueError, match="max_line"):
        LineSplitter(0)
