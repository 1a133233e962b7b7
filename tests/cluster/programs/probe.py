"""A training program for the Dask tests: reports where it runs, as metadata.

    python probe.py [--x X] [--epochs 3] [--sleep 0.3] [--wait-file PATH] [--hold S]
                    [--write-output NAME] [--touch-cwd NAME] [--expect-absent NAME]

Each epoch prints one JSON line: ``epoch``, ``objective`` (``(x - 1)**2 + epochs - epoch``),
``t`` (its wall-clock time), its ``pid`` and process group ``pgid``, the worker address from
``HYPERSTEP_DASK_WORKER`` and ``ancestors`` (the pids above it, from ``/proc``). Options:
``--wait-file`` blocks after the first line until PATH exists (60 s at most), so a test can see
the line arrive while the program still runs; ``--hold S`` sleeps S seconds at the end (a run
to stop); ``--write-output NAME`` writes ``$VH_OUTPUTS_DIR/NAME``; ``--touch-cwd NAME`` creates
NAME in the working folder and ``--expect-absent NAME`` exits 5 if NAME is already there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def ancestors() -> list[int]:
    found = []
    pid = os.getpid()
    for _ in range(20):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid <= 1:
            break
        found.append(pid)
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--x", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--sleep", type=float, default=0.3)
    parser.add_argument("--wait-file", default=None)
    parser.add_argument("--hold", type=float, default=0.0)
    parser.add_argument("--write-output", default=None)
    parser.add_argument("--touch-cwd", default=None)
    parser.add_argument("--expect-absent", default=None)
    args = parser.parse_args()
    if args.expect_absent and Path(args.expect_absent).exists():
        print(f"{args.expect_absent} is already in {os.getcwd()}", file=sys.stderr)
        return 5
    if args.touch_cwd:
        Path(args.touch_cwd).write_text("written by a run\n")
    params = json.loads(Path(os.environ["VH_CONFIG_DIR"], "parameters.json").read_text())
    for epoch in range(1, args.epochs + 1):
        event = {
            "epoch": epoch,
            "objective": (args.x - 1) ** 2 + args.epochs - epoch,
            "t": time.time(),
            "pid": os.getpid(),
            "pgid": os.getpgid(0),
            "worker": os.environ.get("HYPERSTEP_DASK_WORKER"),
            "ancestors": ancestors(),
            "cwd": os.getcwd(),
            "repository": os.environ.get("VH_REPOSITORY_DIR"),
            "parameters": params,
        }
        print(json.dumps(event), flush=True)
        if epoch == 1 and args.wait_file:
            deadline = time.time() + 60
            while not Path(args.wait_file).exists() and time.time() < deadline:
                time.sleep(0.02)
        if epoch < args.epochs:
            time.sleep(args.sleep)
    if args.write_output:
        Path(os.environ["VH_OUTPUTS_DIR"], args.write_output).write_text("model\n")
    if args.hold:
        print("holding", flush=True)
        time.sleep(args.hold)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
