"""Start a grandchild that sleeps, to check that stopping an execution stops its whole tree.

    python spawn_child.py [--then sleep|exit] [--ignore-sigterm] [--detach]

Starts ``python -c "sleep forever"`` as a child (the execution's grandchild, in the same process
group), prints ``grandchild <pid>`` and ``ready <pid>`` on stdout, then either sleeps forever
(``--then sleep``, the default) or exits 0 at once leaving the grandchild behind
(``--then exit``). With ``--ignore-sigterm`` both processes trap SIGTERM, so only SIGKILL ends
them. With ``--detach`` the grandchild starts a new session (it leaves the process group), which
is how a program escapes a group kill on purpose.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

_SLEEPER = (
    "import signal, sys, time\n"
    "if sys.argv[1] == '1':\n"
    "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "while True:\n"
    "    time.sleep(3600)\n"
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--then", choices=("sleep", "exit"), default="sleep")
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--detach", action="store_true")
    args = parser.parse_args()
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen(
        [sys.executable, "-c", _SLEEPER, "1" if args.ignore_sigterm else "0"],
        start_new_session=args.detach,
    )
    print(f"grandchild {child.pid}", flush=True)
    print(f"ready {os.getpid()}", flush=True)
    if args.then == "exit":
        return 0
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
