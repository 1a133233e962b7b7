"""Fuzz the metadata parser: no line a program prints may raise, whatever its bytes.

    python fuzz/fuzz_metadata.py [libFuzzer options] [CORPUS_DIR ...]

``parse_line`` returns a flat dict or None for any bytes and any text; ``LineSplitter`` cuts any
stream, fed in any chunks, into lines no longer than its limit (plus the cut marker), and
``latest`` folds the events. Anything raised is a bug.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from hyperstep.metadata import LineSplitter, latest, parse_line

MAX_LINE = 256


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    cut = fdp.ConsumeIntInRange(1, 64)
    stream = fdp.ConsumeBytes(fdp.remaining_bytes())
    events = []
    for line in (stream, stream.decode("utf-8", errors="replace")):
        event = parse_line(line)
        assert event is None or isinstance(event, dict)
    splitter = LineSplitter(max_line=MAX_LINE)
    lines = []
    for start in range(0, len(stream), cut):
        lines += splitter.feed(stream[start : start + cut])
    lines += splitter.flush()
    for line in lines:
        assert len(line) <= MAX_LINE + 64, len(line)
        event = parse_line(line)
        if event is not None:
            assert all(isinstance(k, str) for k in event)
            events.append(event)
    latest(events)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
