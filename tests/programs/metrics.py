"""Print one JSON metrics line per epoch, as a training program would, and exit 0.

    python metrics.py [--epochs 3] [--sleep 0] [--value 0.5] [--metric-name loss]

Epoch ``i`` (1-based) prints ``{"epoch": i, NAME: VALUE + (EPOCHS - i)}``: the metric goes down
by one per epoch and the last epoch prints exactly ``--value``, so a test knows the latest value
in advance. ``--sleep`` seconds pass before each epoch. Nothing else is printed on stdout; stderr
gets one ``done`` line at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--value", type=float, default=0.5)
    parser.add_argument("--metric-name", default="loss")
    args = parser.parse_args()
    for epoch in range(1, args.epochs + 1):
        if args.sleep:
            time.sleep(args.sleep)
        print(json.dumps({"epoch": epoch, args.metric_name: args.value + (args.epochs - epoch)}))
        sys.stdout.flush()
    print("done", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
