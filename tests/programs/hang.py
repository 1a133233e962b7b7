"""Print a ready line, then sleep until killed (a hung training run).

    python hang.py

Prints ``ready <pid>`` on stdout once it is running, then sleeps forever. SIGTERM and SIGINT keep
their default effect (the process dies of the signal), so a stop ends it at once.
"""

from __future__ import annotations

import os
import sys
import time


def main() -> int:
    print(f"ready {os.getpid()}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
