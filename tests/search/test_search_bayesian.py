"""Bayesian search: start-up points, the task's limits, and the rules it enforces on engines."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import pytest
from tests.search.search_support import ENGINE_PARAMS, issue_space, key, small_space

from hyperstep.errors import EngineUnavailable, ValidationError
from hyperstep.search import BayesianSearch, engine_names, get_engine, make_search
from hyperstep.space import Space, Uniform

History = Sequence[tuple[dict[str, Any], float | None]]


class ScriptedEngine:
    """An engine that records its calls and answers with the points it is given."""

    name = "scripted"

    def __init__(self, answer: list[Any] | None = None) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def suggest(
        self, space: Space, history: History, n: int, pending: Sequence[dict[str, Any]], seed: int
    ) -> list[dict[str, Any]]:
        self.calls.append(
            {"history": list(history), "n": n, "pending": list(pending), "seed": seed}
        )
        if self.answer is not None:
            return list(self.answer)
        return [{"x": 0.5, "y": 0.5 + i / 100} for i in range(n)]


SPACE = Space({"x": Uniform(0, 1), "y": Uniform(0, 1)})


def scripted(
    answer: list[Any] | None = None, **kwargs: Any
) -> tuple[BayesianSearch, ScriptedEngine]:
    engine = ScriptedEngine(answer)
    kwargs.setdefault("execution_count", 100)
    return BayesianSearch(SPACE, engine, **kwargs), engine


def test_startup_points_are_the_random_search_points() -> None:
    search, engine = scripted(seed=7, startup=20)
    random = make_search("random_search", SPACE, seed=7, execution_count=20)
    expected = [random.point(i) for i in range(20)]
    assert [search.point(i) for i in range(20)] == expected
    assert search.point(20) is None
    history: list[tuple[dict[str, Any], float | None]] = []
    for _ in range(4):
        batch = search.propose(history, 5)
        history += [(p, 1.0) for p in batch]
    assert [p for p, _ in history] == expected
    assert engine.calls == []


def test_fewer_executions_than_startup_is_a_random_search() -> None:
    search, engine = scripted(seed=3, startup=20, execution_count=12)
    assert search.is_random_only
    assert search.total == 12
    history = [(p, 0.0) for p in search.propose([], 50)]
    assert len(history) == 12
    assert search.propose(history, 5) == []
    assert engine.calls == []
    assert make_search("bayesian_tpe", SPACE, execution_count=20).is_random_only
    assert not make_search("bayesian_tpe", SPACE, execution_count=21).is_random_only


def test_a_batch_across_the_end_of_startup_mixes_both() -> None:
    search, engine = scripted(seed=1, startup=20)
    history = [(search.point(i) or {}, float(i)) for i in range(18)]
    batch = search.propose(history, 5)
    assert batch[:2] == [search.point(18), search.point(19)]
    assert batch[2:] == [{"x": 0.5, "y": 0.5}, {"x": 0.5, "y": 0.51}, {"x": 0.5, "y": 0.52}]
    (call,) = engine.calls
    assert call["n"] == 3
    # The two start-up points of this batch count as pending for the model.
    assert call["pending"] == batch[:2]


def test_execution_count_caps_every_batch() -> None:
    search, _ = scripted(startup=2, execution_count=10)
    history = [(search.point(i) or {}, 1.0) for i in range(2)]
    history += [({"x": 0.1, "y": i / 10}, 1.0) for i in range(5)]
    assert len(search.propose(history, 5, pending=[{"x": 0.9, "y": 0.9}])) == 2
    assert search.propose(history, 5, pending=[{"x": 0.9, "y": 0.9}] * 3) == []


def test_unbounded_search_without_execution_count() -> None:
    search, _ = scripted(startup=2, execution_count=None)
    assert search.total is None
    assert not search.is_random_only
    assert len(search.propose([], 7)) == 7


def test_bad_engine_answers_are_replaced_by_unseen_random_points() -> None:
    history = [({"x": 0.1, "y": 0.1}, 1.0), ({"x": 0.2, "y": 0.2}, None)]
    answer = [
        {"x": 0.1, "y": 0.1},  # already run
        {"x": 0.3, "y": 0.3},  # fine
        {"x": 0.3, "y": 0.3},  # a repeat inside the batch
        {"x": 1.5, "y": 0.3},  # out of bounds
        {"x": 0.4},  # incomplete
        "not a point",
        {"x": 0.9, "y": 0.9},  # pending
    ]
    search, _ = scripted(answer, startup=0)
    batch = search.propose(history, 9, pending=[{"x": 0.9, "y": 0.9}])
    assert len(batch) == 9
    assert batch[1] == {"x": 0.3, "y": 0.3}
    assert all(SPACE.contains(p) for p in batch)
    keys = [key(p) for p in batch]
    assert len(set(keys)) == 9
    assert key({"x": 0.1, "y": 0.1}) not in keys and key({"x": 0.9, "y": 0.9}) not in keys
    assert search.propose(history, 9, pending=[{"x": 0.9, "y": 0.9}]) == batch


def test_engine_sees_a_clean_history() -> None:
    search, engine = scripted(startup=0)
    history = [
        ({"x": 0.1, "y": 0.1, "extra": 1}, 1.0),
        ({"x": 0.2, "y": 0.2}, math.nan),
        ({"x": 0.3, "y": 0.3}, math.inf),
        ({"x": 0.4, "y": 0.4}, True),
        ({"x": 2.0, "y": 0.4}, 0.5),  # outside the space: dropped
        ({"x": 0.5}, 0.5),  # incomplete: dropped
    ]
    search.propose(history, 1, pending=[{"x": 0.6, "y": 0.6, "extra": 2}, {"x": -1, "y": 0}])
    (call,) = engine.calls
    assert call["history"] == [
        ({"x": 0.1, "y": 0.1}, 1.0),
        ({"x": 0.2, "y": 0.2}, None),
        ({"x": 0.3, "y": 0.3}, None),
        ({"x": 0.4, "y": 0.4}, None),
    ]
    assert call["pending"] == [{"x": 0.6, "y": 0.6}]


def test_engine_seed_follows_seed_history_and_pending() -> None:
    seeds = []
    for seed, n_history, n_pending in [(0, 3, 0), (0, 3, 0), (1, 3, 0), (0, 4, 0), (0, 3, 1)]:
        search, engine = scripted(seed=seed, startup=0)
        history = [({"x": i / 10, "y": 0.0}, 1.0) for i in range(n_history)]
        search.propose(history, 1, pending=[{"x": 0.99, "y": 0.99}] * n_pending)
        seeds.append(engine.calls[0]["seed"])
    assert seeds[0] == seeds[1]
    assert len(set(seeds[1:])) == 4


def test_used_up_space_returns_fewer_points() -> None:
    space = small_space()
    engine = ScriptedEngine([])  # proposes nothing: the search fills in
    search = BayesianSearch(space, engine, startup=0, execution_count=50)
    grid = list(space.grid())
    batch = search.propose([(p, 1.0) for p in grid[:10]], 5)
    assert sorted(key(p) for p in batch) == sorted(key(p) for p in grid[10:])
    assert search.propose([(p, 1.0) for p in grid], 5) == []


@pytest.mark.parametrize("startup", [-1, 2.5, None, True])
def test_invalid_startup_is_named(startup: object) -> None:
    with pytest.raises(ValidationError) as info:
        make_search("bayesian_tpe", SPACE, startup=startup, execution_count=5)  # type: ignore[arg-type]
    assert info.value.field == "startup"


def test_unknown_engine_is_named() -> None:
    with pytest.raises(ValidationError) as info:
        make_search("bayesian_tpe", SPACE, engine="skopt", execution_count=30)
    assert info.value.field == "engine"
    assert "optuna" in str(info.value) and "hyperopt" in str(info.value)


def test_default_engine_is_optuna() -> None:
    for engine in ("optuna", "OPTUNA", None):
        search = make_search("Bayesian-TPE", issue_space(), engine=engine, execution_count=30)
        assert isinstance(search, BayesianSearch)
        assert search.engine.name == "optuna"
    assert {"optuna", "hyperopt", "auto"} <= set(engine_names())


def test_missing_hyperopt_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # ``None`` in sys.modules makes ``import hyperopt`` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "hyperopt", None)
    with pytest.raises(EngineUnavailable, match=r"hyperstep\[hyperopt\]"):
        make_search("bayesian_tpe", SPACE, engine="hyperopt", execution_count=30)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_every_engine_is_found_by_name(engine: str) -> None:
    assert get_engine(engine).name == engine


def test_zero_batch() -> None:
    search, engine = scripted(startup=0)
    assert search.propose([], 0) == []
    assert engine.calls == []


def test_engine_points_are_reported_with_the_lattice_floats() -> None:
    space = Space({"d": Uniform(0, 0.5, step=0.05), "x": Uniform(0, 1)})
    engine = ScriptedEngine([{"d": 0.35000000000000003, "x": 0.25}])
    search = BayesianSearch(space, engine, startup=0, execution_count=10)
    assert search.propose([], 1) == [{"d": 0.35, "x": 0.25}]
    # ...and a point within float noise of one already run counts as that point.
    assert search.propose([({"d": 0.35, "x": 0.25}, 1.0)], 1) != [{"d": 0.35, "x": 0.25}]
