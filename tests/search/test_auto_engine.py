"""The ``auto`` engine: contract (bounds, lattice, determinism, distinct points) and usefulness."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperstep.search.auto import AutoEngine
from hyperstep.space import Categorical, Fixed, Integer, LogUniform, Space, Uniform

MIXED = Space(
    {
        "lr": LogUniform(-5, -1),
        "rate": LogUniform(-3, 0, step=0.001),
        "momentum": Uniform(0.5, 0.99),
        "dropout": Uniform(0.0, 0.5, step=0.05),
        "layers": Integer(1, 9, step=2),
        "units": Integer(8, 1024, log=True),
        "batch": Categorical([16, 32, 64, 128], ordered=True),
        "optimizer": Categorical(["adam", "sgd", True, 3]),
        "seed": Fixed(7),
    }
)


def _loss(point: dict[str, Any]) -> float:
    return float(
        (math.log10(point["lr"]) + 3) ** 2
        + (point["dropout"] - 0.2) ** 2
        + 0.1 * point["layers"]
        + (0.0 if point["optimizer"] == "adam" else 0.5)
    )


def _history(
    space: Space, size: int, seed: int, fail_every: int = 0
) -> list[tuple[dict[str, Any], float | None]]:
    rng = np.random.default_rng(seed)
    history: list[tuple[dict[str, Any], float | None]] = []
    for i in range(size):
        point = space.sample(rng)
        failed = fail_every and i % fail_every == 0
        history.append((point, None if failed else _loss(point)))
    return history


def _key(point: dict[str, Any]) -> tuple[Any, ...]:
    return tuple((type(v).__name__, v) for v in point.values())


def test_points_are_inside_the_space_and_on_its_lattice() -> None:
    points = AutoEngine().suggest(MIXED, _history(MIXED, 25, 0), 5, [], seed=1)
    assert len(points) == 5
    for point in points:
        assert list(point) == MIXED.names
        assert MIXED.contains(point), point
        assert point["seed"] == 7
        assert isinstance(point["layers"], int) and point["layers"] % 2 == 1
        assert type(point["optimizer"]) in (str, bool, int)


def test_a_batch_holds_distinct_points_unlike_the_history_and_pending() -> None:
    history = _history(MIXED, 30, 2)
    pending = [p for p, _ in _history(MIXED, 3, 99)]
    points = AutoEngine().suggest(MIXED, history, 8, pending, seed=3)
    keys = {_key(p) for p in points}
    assert len(keys) == 8
    assert not keys & {_key(p) for p, _ in history}
    assert not keys & {_key(p) for p in pending}


def test_the_same_seed_gives_the_same_points_and_another_seed_others() -> None:
    history = _history(MIXED, 25, 4)
    first = AutoEngine().suggest(MIXED, history, 5, [], seed=11)
    again = AutoEngine().suggest(MIXED, history, 5, [], seed=11)
    other = AutoEngine().suggest(MIXED, history, 5, [], seed=12)
    assert first == again
    assert first != other


def test_failed_executions_are_modelled_but_never_proposed_again() -> None:
    history = _history(MIXED, 30, 5, fail_every=3)
    points = AutoEngine().suggest(MIXED, history, 5, [], seed=0)
    assert len(points) == 5
    assert all(MIXED.contains(p) for p in points)
    failed = {_key(p) for p, v in history if v is None}
    assert not failed & {_key(p) for p in points}


def test_only_failures_or_no_history_gives_random_distinct_points() -> None:
    all_failed = [(p, None) for p, _ in _history(MIXED, 10, 6)]
    for history in ([], all_failed):
        points = AutoEngine().suggest(MIXED, history, 4, [], seed=0)
        assert len({_key(p) for p in points}) == 4
        assert all(MIXED.contains(p) for p in points)


def test_a_discrete_space_is_covered_without_repeats_until_it_is_exhausted() -> None:
    space = Space({"a": Integer(0, 4), "b": Categorical(["x", "y"]), "c": Uniform(0, 1, step=0.5)})
    size = 5 * 2 * 3
    history: list[tuple[dict[str, Any], float | None]] = []
    engine = AutoEngine()
    while len(history) < size:
        batch = engine.suggest(space, history, 4, [], seed=len(history))
        assert len(batch) == min(4, size - len(history))
        for point in batch:
            assert space.contains(point)
            assert _key(point) not in {_key(p) for p, _ in history}
            history.append((point, float(point["a"] + (point["b"] == "y") + point["c"])))
    assert len({_key(p) for p, _ in history}) == size
    assert engine.suggest(space, history, 4, [], seed=0) == []


def test_only_fixed_and_categorical_dimensions() -> None:
    space = Space({"opt": Categorical(["adam", "sgd", "rmsprop"]), "k": Fixed("x")})
    history = [({"opt": "adam", "k": "x"}, 1.0), ({"opt": "sgd", "k": "x"}, 0.5)]
    [point] = AutoEngine().suggest(space, history, 1, [], seed=0)
    assert point == {"opt": "rmsprop", "k": "x"}
    only_fixed = Space({"k": Fixed(3)})
    assert AutoEngine().suggest(only_fixed, [], 2, [], seed=0) == [{"k": 3}]
    assert AutoEngine().suggest(only_fixed, [({"k": 3}, 1.0)], 2, [], seed=0) == []


def test_values_from_json_round_trips_are_recognised_as_seen() -> None:
    space = Space({"n": Integer(1, 3), "flag": Categorical([True, False])})
    history = [({"n": float(n), "flag": f}, float(n)) for n in (1, 2, 3) for f in (True,)]
    points = AutoEngine().suggest(space, history, 3, [], seed=0)
    assert {(p["n"], p["flag"]) for p in points} == {(1, False), (2, False), (3, False)}


def _branin(point: dict[str, Any]) -> float:
    x1, x2 = point["x1"], point["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return float((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10)


def test_beats_random_search_on_a_smooth_function() -> None:
    space = Space({"x1": Uniform(-5.0, 10.0), "x2": Uniform(0.0, 15.0)})
    engine = AutoEngine()
    ours, random = [], []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        history = [(p, _branin(p)) for p in (space.sample(rng) for _ in range(10))]
        baseline = list(history)
        for _ in range(4):
            for point in engine.suggest(space, history, 5, [], seed=seed):
                history.append((point, _branin(point)))
            for point in (space.sample(rng) for _ in range(5)):
                baseline.append((point, _branin(point)))
        ours.append(min(v for _, v in history))
        random.append(min(v for _, v in baseline))
    assert np.median(ours) < np.median(random)
    assert np.median(ours) - 0.397887 < 0.1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    low=st.integers(-20, 20),
    span=st.integers(0, 30),
    step=st.integers(1, 7),
    log_lo=st.floats(-6, 2),
    log_span=st.floats(0.01, 5),
    qstep=st.sampled_from([None, 0.05, 0.25, 1.0]),
    seed=st.integers(0, 2**32),
)
def test_any_numeric_space_gets_valid_points(
    low: int, span: int, step: int, log_lo: float, log_span: float, qstep: float | None, seed: int
) -> None:
    space = Space(
        {
            "i": Integer(low, low + span, step=step),
            "u": Uniform(float(low), float(low + span), step=qstep),
            "l": LogUniform(log_lo, log_lo + log_span),
        }
    )
    history = [(p, float(p["i"]) + p["u"] + p["l"]) for p in _samples(space, 6, seed)]
    for point in AutoEngine().suggest(space, history, 3, [], seed=seed):
        assert space.contains(point), point


def _samples(space: Space, n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


@pytest.mark.parametrize("n", [0, 1])
def test_small_requests(n: int) -> None:
    assert len(AutoEngine().suggest(MIXED, _history(MIXED, 5, 0), n, [], seed=0)) == n


def _spacing(row: np.ndarray, others: np.ndarray) -> float:
    return float(np.abs(others - row[None, :]).max(axis=1).min())


def test_exploring_points_of_a_mixed_space_keep_apart_from_every_known_point() -> None:
    from hyperstep.search.auto._encoding import SpaceEncoder

    space = Space(
        {
            "lr": LogUniform(-4, -1),
            "units": Integer(16, 512, log=True),
            "activation": Categorical(["relu", "tanh"]),
        }
    )

    def plateau(point: dict[str, Any]) -> float:  # a coarse table behind continuous ranges
        tanh = 1.0 if point["activation"] == "tanh" else 0.0
        return round(abs(math.log10(point["lr"]) + 2.5)) + tanh

    rng = np.random.default_rng(0)
    history = [(p, float(plateau(p))) for p in (space.sample(rng) for _ in range(25))]
    encoder = SpaceEncoder(space)
    known = encoder.encode([p for p, _ in history])
    points = AutoEngine().suggest(space, history, 5, [], seed=3)
    rows = encoder.encode(points)
    for i in range(4):  # the last point is the trust-region one: exempt by design
        assert _spacing(rows[i], np.vstack([known, rows[:i]])) >= 0.15


def test_spacing_steers_but_falls_back_to_the_first_unseen_candidate() -> None:
    from hyperstep.search.auto._encoding import SpaceEncoder
    from hyperstep.search.auto._engine import _first_unseen

    encoder = SpaceEncoder(Space({"x": Uniform(0.0, 1.0), "k": Integer(0, 3)}))
    known = encoder.encode([{"x": 0.5, "k": 1}])
    candidates = encoder.encode([{"x": 0.51, "k": 1}, {"x": 0.9, "k": 1}, {"x": 0.5, "k": 1}])
    seen = {encoder.key(row) for row in known}
    far = _first_unseen(encoder, candidates, seen, known, 0.15)
    assert far is not None and encoder.decode(far)["x"] == 0.9
    near_only = candidates[[0, 2]]
    fallback = _first_unseen(encoder, near_only, seen, known, 0.15)
    assert fallback is not None and encoder.decode(fallback)["x"] == 0.51
    assert _first_unseen(encoder, candidates[[2]], seen, known, 0.15) is None
