"""Train the digits MLP; one JSON line of metrics per epoch on stdout (Valohai's metadata).

Parameters arrive as ``--name=value`` (Valohai's default ``pass-as``) and flags as ``--name``.
"""

from __future__ import annotations

import argparse
import json

from digits_model import DEFAULTS, outputs_dir, save_result, train


def parse_args() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learning_rate", type=float, default=DEFAULTS["learning_rate"])
    parser.add_argument("--hidden_units", type=int, default=DEFAULTS["hidden_units"])
    parser.add_argument("--activation", choices=["relu", "tanh", "logistic"], default="relu")
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument("--use_scaler", action="store_true", help="standardise the pixels")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    return vars(parser.parse_args())


def main() -> None:
    params = parse_args()
    print(f"training with {params}", flush=True)
    metrics = train(params, lambda m: print(json.dumps(m), flush=True))
    outputs = outputs_dir()
    if outputs is not None:
        save_result(outputs / "result.json", params, metrics)


if __name__ == "__main__":
    main()
