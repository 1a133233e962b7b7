"""The probe: one training program that can do every odd thing a reliability test needs.

    python probe.py [HARNESS OPTIONS] [--NAME=VALUE ...]

Every ``--NAME=VALUE`` token is a parameter; the value it prints as metadata is
``sum((v - 1)**2)`` over the numeric parameters (string parameters add a fixed amount per value).
Harness options (each written as separate tokens, never ``--opt=value``):

``--epochs E``            print E metric lines ``{"epoch": i, METRIC: value + (E - i)}`` (default 1)
``--metric NAME``         the metric's name (default ``loss``)
``--sleep S``             sleep S seconds before each epoch
``--sleep-range LO HI``   sleep a duration in [LO, HI] drawn from the parameters (deterministic)
``--fail-if NAME V1,V2``  exit 3 without printing metrics when parameter NAME is one of the values
``--no-metric-if NAME V,..`` exit 0 without printing metrics when NAME is one of the values
``--exit N``              exit with status N after the metrics
``--kill-self SIG``       send itself signal SIG (a number) after the metrics
``--kill-self-if NAME V,..`` SIGKILL itself after the first metric line when NAME is one of them
``--kill-runner-if NAME V,..`` SIGKILL its runner shim at once when NAME is one of them (a "lost"
                          run, as when a worker dies), then sleep until its group is killed
``--grandchild``          start a sleeping grandchild (same process group) first
``--ignore-sigterm``      ignore SIGTERM (only SIGKILL ends it)
``--hang``                sleep until killed after the metrics
``--flood-bytes N``       write N bytes of ``x`` on stdout without a newline, then exit
``--edge-cases``          print the metric-stream edge cases of the reliability catalogue
``--partial-then-kill``   print an event without its newline, then SIGKILL itself

Environment: when ``PROBE_RUNS`` names a file, the probe appends one JSON line per start and per
normal end (``{"event": "start"|"end", "counter": ..., "pid": ..., "time": ...}``): how the
tests count how many times each execution really ran. When ``PROBE_DUMP`` names a folder, the
probe writes ``<counter>.json`` there with its argv and whole environment.
Standard library only; it must start fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

_ARITY = {
    "--epochs": 1,
    "--metric": 1,
    "--sleep": 1,
    "--sleep-range": 2,
    "--fail-if": 2,
    "--no-metric-if": 2,
    "--exit": 1,
    "--kill-self": 1,
    "--kill-self-if": 2,
    "--kill-runner-if": 2,
    "--grandchild": 0,
    "--ignore-sigterm": 0,
    "--hang": 0,
    "--flood-bytes": 1,
    "--edge-cases": 0,
    "--partial-then-kill": 0,
}

_SLEEPER = "import time\nwhile True:\n    time.sleep(3600)\n"


def parse(argv: list[str]) -> tuple[dict[str, list[str]], dict[str, str], list[str]]:
    """Harness options, ``--NAME=VALUE`` parameters, and any other (positional) token."""
    harness: dict[str, list[str]] = {}
    params: dict[str, str] = {}
    rest: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        index += 1
        if token in _ARITY:
            arity = _ARITY[token]
            harness[token] = argv[index : index + arity]
            index += arity
        elif token.startswith("--") and "=" in token:
            name, _, value = token[2:].partition("=")
            params[name] = value
        else:
            rest.append(token)
    return harness, params, rest


def objective(params: dict[str, str]) -> float:
    total = 0.0
    for value in params.values():
        try:
            total += (float(value) - 1.0) ** 2
        except ValueError:
            total += sum(value.encode()) % 7 / 10
    return total


def record(event: str) -> None:
    target = os.environ.get("PROBE_RUNS")
    if not target:
        return
    line = json.dumps(
        {
            "event": event,
            "counter": os.environ.get("HYPERSTEP_EXECUTION_COUNTER"),
            "pid": os.getpid(),
            "time": time.time(),
        }
    )
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def dump(argv: list[str]) -> None:
    folder = os.environ.get("PROBE_DUMP")
    if not folder:
        return
    counter = os.environ.get("HYPERSTEP_EXECUTION_COUNTER", "none")
    data = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
    with open(os.path.join(folder, f"{counter}.json"), "w", encoding="utf-8") as fh:
        json.dump(data, fh)


def kill_runner() -> None:
    """SIGKILL the closest ancestor that is the runner shim (read from /proc, stdlib only)."""
    pid = os.getppid()
    for _ in range(4):
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if b"hyperstep.executors.shim" in fh.read():
                os.kill(pid, signal.SIGKILL)
                return
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            pid = int(fh.read().rsplit(")", 1)[1].split()[1])


def edge_cases() -> None:
    """The metric-stream cases of catalogue item R10, in a fixed order."""
    out = sys.stdout.buffer
    out.write(b'{"case": "plain", "m": 1}\n')
    out.write(b'{"case": "nan", "m_nan": NaN, "m_inf": Infinity, "m_ninf": -Infinity}\n')
    out.write(b"[1, 2, 3]\n")
    out.write(b"42\n")
    out.write(b'"just a string"\n')
    out.write(b'{"case": "bad utf8", "m_bytes": 2} \xff\xfe tail\n')
    out.write(b"\xff\xfe not utf-8 at all\n")
    out.write(b'{"case": "big", "pad": "' + b"p" * (1 << 20) + b'"}\n')
    out.flush()
    sys.stderr.write("a line on stderr between events\n")
    sys.stderr.flush()
    out.write(b'{"case": "after stderr", "m": 3}\n')
    out.write(b'{"case": "last, no newline", "m_last": 4}')
    out.flush()


def main() -> int:
    argv = sys.argv[1:]
    record("start")
    dump(argv)
    harness, params, _rest = parse(argv)
    if "--ignore-sigterm" in harness:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if "--grandchild" in harness:
        child = subprocess.Popen([sys.executable, "-c", _SLEEPER])
        print(f"grandchild {child.pid}", flush=True)
    if "--flood-bytes" in harness:
        remaining = int(harness["--flood-bytes"][0])
        block = b"x" * (1 << 20)
        while remaining > 0:
            sys.stdout.buffer.write(block[: min(remaining, len(block))])
            remaining -= len(block)
        sys.stdout.buffer.flush()
        return 0
    if "--partial-then-kill" in harness:
        sys.stdout.write('{"m_killed": 5}')
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    if "--edge-cases" in harness:
        edge_cases()
        record("end")
        return 0
    if "--kill-runner-if" in harness:
        name, values = harness["--kill-runner-if"]
        if params.get(name) in values.split(","):
            kill_runner()
            time.sleep(60)
    for option, status in (("--fail-if", 3), ("--no-metric-if", 0)):
        if option in harness:
            name, values = harness[option]
            if params.get(name) in values.split(","):
                print(f"probe: {name}={params.get(name)} -> exit {status} without metrics")
                record("end")
                return status
    pause = float(harness.get("--sleep", ["0"])[0])
    if "--sleep-range" in harness:
        low, high = (float(v) for v in harness["--sleep-range"])
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).digest()
        pause = low + (high - low) * digest[0] / 255
    epochs = int(harness.get("--epochs", ["1"])[0])
    metric = harness.get("--metric", ["loss"])[0]
    value = objective(params)
    for epoch in range(1, epochs + 1):
        if pause:
            time.sleep(pause)
        print(json.dumps({"epoch": epoch, metric: value + (epochs - epoch)}), flush=True)
        if "--kill-self-if" in harness:
            name, values = harness["--kill-self-if"]
            if params.get(name) in values.split(","):
                os.kill(os.getpid(), signal.SIGKILL)
    if "--kill-self" in harness:
        os.kill(os.getpid(), int(harness["--kill-self"][0]))
        time.sleep(5)
    if "--hang" in harness:
        while True:
            time.sleep(3600)
    record("end")
    return int(harness.get("--exit", ["0"])[0])


if __name__ == "__main__":
    sys.exit(main())
