"""The same training, written the valohai-utils way: it runs unchanged on Valohai and here.

``valohai.prepare`` declares the defaults, ``valohai.parameters(...)`` reads each value (from
``$VH_CONFIG_DIR/parameters.json`` and the command line), and ``valohai.logger()`` prints the
metrics of each epoch as one JSON line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import valohai
from digits_model import DEFAULTS, outputs_dir, save_result, train


def report(metrics: dict[str, Any]) -> None:
    with valohai.logger() as logger:
        logger.log(**metrics)


def main() -> None:
    valohai.prepare(step="train-utils", default_parameters=dict(DEFAULTS))
    params = {name: valohai.parameters(name).value for name in DEFAULTS}
    print(f"training with {params}", flush=True)
    metrics = train(params, report)
    if outputs_dir() is not None:
        save_result(Path(valohai.outputs().path("result.json")), params, metrics)


if __name__ == "__main__":
    main()
