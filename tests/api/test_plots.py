"""Plot data: what a browser is sent for a large task."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from hyperstep.api.plots import KEEP_BEST, MAX_POINTS, sample_points


def _data(n: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    objective = [rng.random() for _ in range(n)]
    return {
        "n": n,
        "n_total": n,
        "counter": list(range(1, n + 1)),
        "index": list(range(n)),
        "value": objective,
        "objective": objective,
        "best_line": {"x": [1][:n], "y": objective[:1]},
        "parameters": [
            {"name": "a", "scale": "linear", "values": list(range(n)), "categories": None}
        ],
    }


def test_a_large_task_is_thinned_keeping_the_best_and_the_order() -> None:
    data = _data(5000)
    sampled = sample_points(data)
    assert sampled["n"] == MAX_POINTS == len(sampled["counter"]) == len(sampled["value"])
    assert sampled["n_total"] == 5000
    assert sampled["counter"] == sorted(sampled["counter"])
    best = sorted(range(5000), key=lambda i: data["objective"][i])[:KEEP_BEST]
    assert {data["counter"][i] for i in best} <= set(sampled["counter"])
    # Columns stay aligned: parameter a was the index.
    assert [c - 1 for c in sampled["counter"]] == sampled["parameters"][0]["values"]
    assert sampled["best_line"] == data["best_line"]


@given(n=st.integers(min_value=0, max_value=3000), limit=st.integers(min_value=1, max_value=2500))
@settings(max_examples=60, deadline=None)
def test_sampling_keeps_at_most_the_limit_and_never_repeats(n: int, limit: int) -> None:
    sampled = sample_points(_data(n, seed=n), limit)
    assert sampled["n"] == min(n, limit)
    assert len(set(sampled["counter"])) == sampled["n"]
    assert set(sampled["counter"]) <= set(range(1, n + 1))
