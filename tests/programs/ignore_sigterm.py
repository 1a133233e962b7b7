"""Trap SIGTERM and keep running: only SIGKILL ends it (a program that ignores stop requests).

    python ignore_sigterm.py

Prints ``ready <pid>`` once the trap is installed, and ``ignoring SIGTERM`` (stdout) each time
the signal arrives. SIGINT is trapped too.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def _ignore(signum: int, frame: object) -> None:
    print(f"ignoring {signal.Signals(signum).name}", flush=True)


def main() -> int:
    signal.signal(signal.SIGTERM, _ignore)
    signal.signal(signal.SIGINT, _ignore)
    print(f"ready {os.getpid()}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
