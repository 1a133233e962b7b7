"""Print a few lines, then fail: exit with a given code, or die of a signal.

    python fail.py [--code 1] [--lines 2] [--signal NAME]

Prints ``line 1`` .. ``line N`` on stdout and ``failing with code C`` on stderr, then exits with
``--code``. With ``--signal KILL`` (or ``TERM``, ``SEGV``, any ``signal.Signals`` name without
``SIG``) it kills itself with that signal instead, like a crash or the OOM killer.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--code", type=int, default=1)
    parser.add_argument("--lines", type=int, default=2)
    parser.add_argument("--signal", default=None)
    args = parser.parse_args()
    for number in range(1, args.lines + 1):
        print(f"line {number}")
    sys.stdout.flush()
    if args.signal:
        sig = signal.Signals[f"SIG{args.signal.upper().removeprefix('SIG')}"]
        print(f"killing myself with {sig.name}", file=sys.stderr, flush=True)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        signal.pause()
    print(f"failing with code {args.code}", file=sys.stderr)
    return int(args.code)


if __name__ == "__main__":
    sys.exit(main())
