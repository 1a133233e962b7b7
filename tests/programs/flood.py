"""Print a lot of output fast: many short lines, or one huge line.

    python flood.py --lines N [--stream stdout|stderr]
    python flood.py --bytes N [--no-newline] [--stream stdout|stderr]

``--lines N`` prints ``line 000001`` .. (6-digit counters, one per line, so a test can check
order and completeness). ``--bytes N`` prints a single line of N ``x`` bytes followed by a
newline (none with ``--no-newline``), written in 1 MiB blocks so the program itself stays
small. Exits 0.
"""

from __future__ import annotations

import argparse
import sys

_BLOCK = 1 << 20


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=0)
    parser.add_argument("--bytes", type=int, default=0)
    parser.add_argument("--no-newline", action="store_true")
    parser.add_argument("--stream", choices=("stdout", "stderr"), default="stdout")
    args = parser.parse_args()
    out = sys.stdout.buffer if args.stream == "stdout" else sys.stderr.buffer
    if args.lines:
        batch = []
        for number in range(1, args.lines + 1):
            batch.append(b"line %06d\n" % number)
            if len(batch) == 10_000:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch))
    if args.bytes:
        left = args.bytes
        block = b"x" * _BLOCK
        while left > 0:
            out.write(block[: min(left, _BLOCK)])
            left -= _BLOCK
        if not args.no_newline:
            out.write(b"\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
