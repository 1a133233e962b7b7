"""A deterministic objective of the parameters it is given, printed as metadata.

    python objective.py --x=2.5 --y 7 [--optimizer adam] [--flag] [--epochs 1] [--sleep 0]
                        [--metric-name objective] [--fail-above T]

Every ``--name=value`` or ``--name value`` is a parameter (numbers are read as floats, a bare
``--name`` is true, ``--no-name`` false). The value is:

* the Branin function of ``x`` and ``y`` when both are given (minimum 0.397887 at
  (-pi, 12.275), (pi, 2.275) and (9.42478, 2.475); the usual domain is x in [-5, 10],
  y in [0, 15]); other parameters then add nothing;
* otherwise the sum of ``(v - 1)**2`` over numeric parameters plus, for each string parameter,
  ``(sum of its UTF-8 bytes) % 7 / 10`` (a fixed value per choice), true flags adding 0.5.

With ``--epochs E`` it prints E lines ``{"epoch": i, NAME: value + (E - i)}`` (the last one is
the value itself), sleeping ``--sleep`` seconds before each. With ``--fail-above T`` and a value
above T it prints ``objective too high`` on stderr and exits 3 without printing any metric (a
failing execution for ``on-child-error`` tests). The harness options (``--epochs``, ``--sleep``,
``--metric-name``, ``--fail-above``) are not parameters.
"""

from __future__ import annotations

import json
import math
import sys
import time

_HARNESS = {"epochs", "sleep", "metric-name", "fail-above"}


def parse(argv: list[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    index = 0
    while index < len(argv):
        token = argv[index]
        index += 1
        if not token.startswith("--"):
            raise SystemExit(f"objective.py: unexpected argument {token!r}")
        name, sep, raw = token[2:].partition("=")
        if not sep:
            following = argv[index] if index < len(argv) else None
            if following is not None and (not following.startswith("--") or _number(following)):
                raw = following
                index += 1
            else:
                values[name.removeprefix("no-")] = not name.startswith("no-")
                continue
        number = _number(raw)
        values[name] = number if number is not None else raw
    return values


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def branin(x: float, y: float) -> float:
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - r) ** 2 + s * (1 - t) * math.cos(x) + s


def objective(params: dict[str, object]) -> float:
    x, y = params.get("x"), params.get("y")
    if isinstance(x, float) and isinstance(y, float):
        return branin(x, y)
    total = 0.0
    for value in params.values():
        if isinstance(value, bool):
            total += 0.5 if value else 0.0
        elif isinstance(value, float):
            total += (value - 1) ** 2
        else:
            total += sum(str(value).encode()) % 7 / 10
    return total


def main() -> int:
    params = parse(sys.argv[1:])
    harness = {name: params.pop(name) for name in list(params) if name in _HARNESS}
    epochs = int(float(harness.get("epochs", 1)))  # type: ignore[arg-type]
    pause = float(harness.get("sleep", 0.0))  # type: ignore[arg-type]
    metric = str(harness.get("metric-name", "objective"))
    value = objective(params)
    limit = harness.get("fail-above")
    if isinstance(limit, float) and value > limit:
        print(f"objective too high: {value} > {limit}", file=sys.stderr)
        return 3
    for epoch in range(1, epochs + 1):
        if pause:
            time.sleep(pause)
        print(json.dumps({"epoch": epoch, metric: value + (epochs - epoch)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
