"""Follow an execution's ``stdout.log`` and ``stderr.log``, line by line, from exact offsets.

Every executor leaves its output in these two files, so the engine ingests output the same way
whatever runs the command. The offsets an :class:`OutputTail` reports count only bytes of lines
already returned: the engine stores them with the lines in one transaction, and a tail rebuilt
from the stored offsets after a crash returns the next line, never one already stored, never
skipping one.

Memory stays bounded whatever the program prints: at most ``max_bytes`` of lines per call, and
a line longer than ``max_line`` is cut by :class:`hyperstep.metadata.LineSplitter` (its first
``max_line`` bytes and a ``…[truncated N bytes]`` note); the log file on disk keeps it whole.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from hyperstep.executors import exec_dir as files
from hyperstep.metadata import MAX_LINE, LineSplitter

Stream = Literal["stdout", "stderr"]
#: (stream, line without its terminator)
OutputLine = tuple[Stream, bytes]

DEFAULT_MAX_BYTES = 4 << 20
_CHUNK = 1 << 20
#: how much more than ``max_bytes`` one call may read while skipping the body of a cut line
_SCAN_FACTOR = 8


class _FileTail:
    """One log file: what has been read (``position``) and what is settled (``consumed``)."""

    def __init__(self, path: Path, offset: int, max_line: int) -> None:
        self.path = path
        self.consumed = offset
        self.position = offset
        self.splitter = LineSplitter(max_line)

    def size(self) -> int:
        try:
            return os.stat(self.path).st_size
        except FileNotFoundError:
            return 0

    def read(self, budget: int, *, final: bool) -> list[bytes]:
        """Complete lines from ``position`` on, about ``budget`` bytes of them at most."""
        lines: list[bytes] = []
        returned = 0
        scan_limit = self.position + budget * _SCAN_FACTOR
        at_end = False
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed below, reopened per call
        except FileNotFoundError:
            return lines
        with handle:
            handle.seek(self.position)
            while returned < budget and self.position < scan_limit:
                want = min(_CHUNK, budget - returned, scan_limit - self.position)
                chunk = handle.read(want)
                if not chunk:
                    at_end = True
                    break
                start = self.position
                self.position += len(chunk)
                new = self.splitter.feed(chunk)
                if new:
                    # every line returned ends at one newline: settle up to the last one
                    self.consumed = start + chunk.rfind(b"\n") + 1
                    lines.extend(new)
                    returned += sum(len(line) for line in new)
                if len(chunk) < want:
                    at_end = True
                    break
        if final and (at_end or self.position >= self.size()):
            rest = self.splitter.flush()
            if rest:
                lines.extend(rest)
                self.consumed = self.position
        return lines


class OutputTail:
    """New complete lines of an execution's stdout and stderr, with resumable offsets.

    >>> tail = OutputTail(exec_dir)                      # doctest: +SKIP
    >>> for stream, line in tail.read(): ...             # doctest: +SKIP
    >>> store_lines_with(tail.offsets)                   # doctest: +SKIP

    Call :meth:`read` while the command runs; once it has exited, call :meth:`finish` until it
    returns nothing, so a last line without a newline is not lost. Lines of the two streams are
    returned stream by stream (the files do not say how they interleaved).
    """

    def __init__(
        self,
        exec_dir: Path,
        stdout_offset: int = 0,
        stderr_offset: int = 0,
        *,
        max_line: int = MAX_LINE,
    ) -> None:
        self.exec_dir = Path(exec_dir)
        self._files: dict[Stream, _FileTail] = {
            "stdout": _FileTail(self.exec_dir / files.STDOUT, stdout_offset, max_line),
            "stderr": _FileTail(self.exec_dir / files.STDERR, stderr_offset, max_line),
        }

    @property
    def offsets(self) -> tuple[int, int]:
        """Bytes of (stdout, stderr) covered by the lines returned so far; resume from here."""
        return self._files["stdout"].consumed, self._files["stderr"].consumed

    @property
    def pending(self) -> bool:
        """Whether the files hold bytes this tail has not read yet."""
        return any(tail.size() > tail.position for tail in self._files.values())

    def read(self, max_bytes: int = DEFAULT_MAX_BYTES) -> list[OutputLine]:
        """The complete lines written since the last call (about ``max_bytes`` of them at most).

        A line still being written is kept for a later call; so is anything past the budget
        (see :attr:`pending`).
        """
        return self._read(max_bytes, final=False)

    def finish(self, max_bytes: int = DEFAULT_MAX_BYTES) -> list[OutputLine]:
        """Like :meth:`read`, but at the end of a file a last line without newline is returned.

        Only for a command that has exited: nobody appends to its files any more.
        """
        return self._read(max_bytes, final=True)

    def _read(self, max_bytes: int, *, final: bool) -> list[OutputLine]:
        budget = max(1, max_bytes // 2)
        result: list[OutputLine] = []
        for stream, tail in self._files.items():
            result.extend((stream, line) for line in tail.read(budget, final=final))
        return result
