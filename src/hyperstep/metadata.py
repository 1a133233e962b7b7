"""Execution metadata: the JSON objects a program prints on stdout, one event per line.

Training code needs no SDK: ``print(json.dumps({"epoch": 3, "loss": 0.25}))`` is an event, as
on Valohai. This module turns output into events and never raises on what a program prints:

* :class:`LineSplitter` cuts a byte stream into lines in bounded memory (a program that
  prints a gigabyte without a newline costs ``max_line`` bytes, not a gigabyte);
* :func:`parse_line` reads the event of one line, if it holds one;
* :func:`latest` folds events into an execution's metadata (the latest value of each key).

Rules of :func:`parse_line` (each has a test):

* The event is the **first** JSON object on the line, decoded from the first ``{``; text after
  it is ignored (``{"a": 1} {"b": 2}`` gives ``{"a": 1}``, Valohai's "only the first valid JSON
  object is captured"). Text *before* the ``{`` is allowed, so an object printed right after a
  progress bar's ``\\r`` still counts. If the text from the first ``{`` is not a valid object,
  the line is a plain log line: later braces are not tried (that keeps parsing linear in the
  line length).
* Nested objects are flattened with ``.`` (``{"a": {"b": 1}}`` gives ``{"a.b": 1}``); lists stay
  values. When a flattened key collides with a literal dotted key, the later one wins.
* ``NaN``, ``Infinity`` and ``-Infinity`` are accepted as floats (Python's ``json.dumps``
  writes them).
* JSON that is not an object (a list, a number, a string) and an empty object are not
  metadata: the line is a log line.
* ``{"vh_metadata": {...}}``, the wrapper valohai-utils writes in deployments, is unwrapped.
* Bytes are decoded as UTF-8 with replacement characters, so a line with invalid bytes may
  still hold an event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MAX_LINE", "LineSplitter", "flatten", "latest", "parse_line"]

#: Default longest line kept whole (1 MiB); longer lines are cut, see :class:`LineSplitter`.
MAX_LINE = 1 << 20

_DECODER = json.JSONDecoder()
_SURROGATES = re.compile("[\ud800-\udfff]")


def parse_line(line: bytes | str) -> dict[str, Any] | None:
    """The metadata event on one line of stdout, flattened, or ``None`` for a log line.

    Never raises, whatever the line holds (invalid UTF-8, deep nesting, huge numbers).

    >>> parse_line('{"loss": 0.25, "eval": {"acc": 0.9}}')
    {'loss': 0.25, 'eval.acc': 0.9}
    >>> parse_line("epoch 3 done") is None
    True
    """
    if isinstance(line, (bytes, bytearray, memoryview)):
        raw = bytes(line)
        if b"{" not in raw:
            return None
        text = raw.decode("utf-8", errors="replace")
    else:
        text = line
    start = text.find("{")
    if start < 0:
        return None
    try:
        obj, _ = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        # ValueError covers malformed JSON and integers longer than Python's digit limit;
        # RecursionError covers absurd nesting. Either way it is a log line.
        return None
    if not isinstance(obj, dict):
        return None
    wrapped = obj.get("vh_metadata")
    if len(obj) == 1 and isinstance(wrapped, dict):
        obj = wrapped
    event = flatten(obj)
    if not event:
        return None
    if isinstance(line, str) or "\\u" in text:
        return _without_surrogates(event)
    return event


def _without_surrogates(event: dict[str, Any]) -> dict[str, Any] | None:
    """Replace lone surrogates (``"\\ud800"`` is valid JSON) so the event can be stored as UTF-8."""
    try:
        text = json.dumps(event, ensure_ascii=False)
        text.encode("utf-8")
    except UnicodeEncodeError:
        cleaned: dict[str, Any] = json.loads(_SURROGATES.sub("\ufffd", text))
        return cleaned
    except (ValueError, RecursionError):
        return None
    return event


def flatten(obj: Mapping[str, Any], sep: str = ".") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [1, {"d": 2}]}`` → ``{"a.b": 1, "c": [1, {"d": 2}]}``.

    Only nested objects are flattened; lists are values. Iterative, so nesting as deep as the
    JSON decoder allows cannot exhaust the stack.
    """
    result: dict[str, Any] = {}
    # A stack of (prefix, iterator over the items still to visit) keeps key order.
    stack: list[tuple[str, Any]] = [("", iter(obj.items()))]
    while stack:
        prefix, items = stack[-1]
        for key, value in items:
            name = f"{prefix}{key}"
            if isinstance(value, Mapping):
                stack.append((f"{name}{sep}", iter(value.items())))
                break
            result[name] = value
        else:
            stack.pop()
    return result


def latest(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """An execution's metadata: the latest value of each key over its events, in order.

    This is Valohai's ``cumulative_metadata``: a key printed at every epoch ends with its
    last value; a key printed once keeps it.
    """
    result: dict[str, Any] = {}
    for event in events:
        result.update(event)
    return result


class LineSplitter:
    r"""Cut a byte stream into lines, incrementally and in bounded memory.

    Lines end at ``\n``; a ``\r`` right before it is dropped too (``\r\n``), but a lone ``\r``
    (a progress bar redrawing itself) stays inside the line. Lines are returned without their
    terminator.

    A line longer than ``max_line`` bytes keeps its first ``max_line`` bytes (cut back to a
    UTF-8 character boundary) followed by `` …[truncated N bytes]``, where N counts the bytes
    left out; the rest of the line is skipped as it arrives, so memory stays near ``max_line``
    however long the line is. The cut line is returned once its newline (or :meth:`flush`)
    comes.

    >>> splitter = LineSplitter()
    >>> splitter.feed(b'{"loss": 1}\r\nepo')
    [b'{"loss": 1}']
    >>> splitter.feed(b"ch 2\n"), splitter.flush()
    ([b'epoch 2'], [])
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        if max_line < 1:
            raise ValueError(f"max_line must be at least 1, not {max_line}")
        self.max_line = max_line
        self._buffer = bytearray()
        self._dropped = 0
        self._last_cr = False

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add ``chunk``; return the lines it completed (possibly none)."""
        lines: list[bytes] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                self._append(chunk[start:])
                return lines
            self._append(chunk[start:end])
            lines.append(self._take())
            start = end + 1

    def flush(self) -> list[bytes]:
        """The last line if the stream ended without a newline (e.g. the program was killed)."""
        if not self._buffer and not self._dropped:
            return []
        return [self._take()]

    def _append(self, piece: bytes) -> None:
        if not piece:
            return
        self._last_cr = piece.endswith(b"\r")
        if self._dropped:
            self._dropped += len(piece)
            return
        room = self.max_line - len(self._buffer)
        if len(piece) <= room:
            self._buffer += piece
            return
        self._buffer += piece[:room]
        self._dropped = len(piece) - room
        # Do not split a UTF-8 character: move its leading bytes to the dropped part.
        first_dropped = piece[room]
        for _ in range(3):
            if first_dropped & 0xC0 != 0x80 or not self._buffer:
                break
            first_dropped = self._buffer.pop()
            self._dropped += 1

    def _take(self) -> bytes:
        line = bytes(self._buffer)
        dropped = self._dropped
        if self._last_cr:
            # The \r of a \r\n ending is part of the terminator, not of the content.
            if dropped:
                dropped -= 1
            elif line.endswith(b"\r"):
                line = line[:-1]
        self._buffer.clear()
        self._dropped = 0
        self._last_cr = False
        if dropped:
            line += f" …[truncated {dropped} bytes]".encode()
        return line
