"""Grid search: the Cartesian product, in order, each point exactly once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.search.search_support import key, run_task, small_space

from hyperstep.errors import ValidationError
from hyperstep.search import GridSearch, make_search
from hyperstep.space import Categorical, Integer, LogUniform, Space, SpaceError, Uniform


def test_points_are_the_grid_in_order() -> None:
    space = small_space()
    search = make_search("grid_search", space)
    grid = list(space.grid())
    assert search.total == 12
    assert [search.point(i) for i in range(12)] == grid
    assert search.point(12) is None
    assert search.point(-1) is None
    assert search.propose([], 5) == grid[:5]


def test_propose_skips_what_ran_and_what_runs() -> None:
    search = make_search("grid-search", small_space())
    grid = list(small_space().grid())
    # A failure is still a point that ran.
    history: list[tuple[dict[str, Any], float | None]] = [(grid[0], 1.0), (grid[2], None)]
    assert search.propose(history, 3, pending=[grid[1], grid[4]]) == [grid[3], grid[5], grid[6]]


def test_a_json_round_trip_is_still_the_same_point() -> None:
    space = Space({"a": Integer(1, 2), "b": Uniform(0, 0.3, step=0.1)})
    search = make_search("grid_search", space)
    # 1 comes back as 1.0 and 0.1 + 0.2 noise must not make 0.3 a new point.
    history = [({"a": 1.0, "b": 0.30000000000000004}, 0.5), ({"a": 2, "b": 0.0}, 0.1)]
    proposals = search.propose(history, 10)
    assert {"a": 1, "b": 0.3} not in proposals
    assert len(proposals) == 6


def test_a_task_runs_the_grid_exactly_once_and_ends() -> None:
    search = make_search("grid_search", small_space())
    history = run_task(search, lambda point: 0.0, batch=5)
    assert len(history) == 12
    assert {key(p) for p, _ in history} == {key(p) for p in small_space().grid()}
    assert search.propose(history, 5) == []


@given(batch=st.integers(1, 13), order=st.randoms(use_true_random=False))
@settings(max_examples=30, deadline=None)
def test_history_in_any_order_never_repeats_a_point(batch: int, order: object) -> None:
    search = make_search("grid_search", small_space())
    history: list[tuple[dict[str, object], float | None]] = []
    while proposals := search.propose(history, batch):
        history += [(json.loads(json.dumps(p)), None) for p in proposals]
        order.shuffle(history)  # type: ignore[attr-defined]
    assert sorted(key(p) for p, _ in history) == sorted(key(p) for p in small_space().grid())


def test_repeated_choices_run_once() -> None:
    search = make_search("grid_search", Space({"opt": Categorical(["adam", "sgd", "adam"])}))
    assert search.total == 2
    assert search.propose([], 5) == [{"opt": "adam"}, {"opt": "sgd"}]


def test_explicit_points_from_value_lists() -> None:
    # Values of a `random` style with `count` that the space cannot express.
    points = [{"lr": 0.01, "units": 16}, {"lr": 0.003, "units": 16}, {"lr": 0.01, "units": 16.0}]
    search = make_search("grid_search", Space(), grid_points=points)
    assert search.total == 2
    assert [search.point(0), search.point(1), search.point(2)] == [points[0], points[1], None]
    assert search.propose([(points[1], 0.2)], 5) == [points[0]]


def test_empty_space_runs_the_step_once() -> None:
    search = make_search("grid_search", Space())
    assert search.total == 1
    assert search.propose([], 3) == [{}]
    assert search.propose([({}, 1.0)], 3) == []


def test_continuous_parameter_is_refused_with_its_name() -> None:
    with pytest.raises(SpaceError) as info:
        make_search("grid_search", Space({"a": Integer(1, 3), "lr": LogUniform(-5, -1)}))
    assert info.value.field == "parameters.lr"


def test_invalid_grid_points() -> None:
    with pytest.raises(ValidationError) as info:
        GridSearch(Space(), grid_points=[{"a": 1}, 3])  # type: ignore[list-item]
    assert info.value.field == "grid_points[1]"
    with pytest.raises(ValidationError):
        GridSearch(Space(), grid_points="a=1")  # type: ignore[arg-type]


def test_a_large_grid_costs_only_what_it_proposes() -> None:
    space = Space({"a": Integer(0, 999), "b": Integer(0, 999), "c": Integer(0, 999)})
    search = make_search("grid_search", space)
    assert search.total == 10**9
    assert search.propose([], 2) == [{"a": 0, "b": 0, "c": 0}, {"a": 0, "b": 0, "c": 1}]
    assert search.point(1500) == {"a": 0, "b": 1, "c": 500}


def test_negative_batch_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        make_search("grid_search", small_space()).propose([], -1)
    assert make_search("grid_search", small_space()).propose([], 0) == []
