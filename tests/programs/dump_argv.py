"""Report exactly how the program was called: argv, working folder, selected environment.

    python dump_argv.py [ANY ARGUMENTS...]

Prints one JSON line ``{"argv": [...], "cwd": "...", "env": {...}}`` on stdout, where ``argv``
is ``sys.argv[1:]`` unchanged and ``env`` holds every ``VH_*`` and ``HYPERSTEP_*`` variable,
``PYTHONUNBUFFERED``, and the variables named (comma-separated) in ``DUMP_ENV``. When
``DUMP_ARGV_FILE`` is set, the same JSON is also written to that file (for tests that check
values which would be awkward to read back from the log). Exits 0.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    wanted = {name for name in os.environ.get("DUMP_ENV", "").split(",") if name}
    env = {
        name: value
        for name, value in os.environ.items()
        if name.startswith(("VH_", "HYPERSTEP_")) or name == "PYTHONUNBUFFERED" or name in wanted
    }
    record = {"argv": sys.argv[1:], "cwd": os.getcwd(), "env": env}
    text = json.dumps(record, sort_keys=True)
    target = os.environ.get("DUMP_ARGV_FILE")
    if target:
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
