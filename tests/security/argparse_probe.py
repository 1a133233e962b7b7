"""An argparse program with one option and positionals: what option injection would fool.

    python argparse_probe.py [--output OUT] [FILE ...]

Prints one metadata line ``{"output": OUT, "files": [FILE, ...]}`` and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", default=None)
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    print(json.dumps({"output": args.output, "files": args.files}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
