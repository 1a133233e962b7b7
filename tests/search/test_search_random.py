"""Random search: execution_count draws, the i-th a function of (seed, i)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.search.search_support import issue_space, key, mixed_space, run_task, small_space

from hyperstep.errors import ValidationError
from hyperstep.search import RandomSearch, make_search
from hyperstep.space import Integer, Space


def test_execution_count_points_inside_the_space() -> None:
    space = mixed_space()
    search = make_search("random_search", space, seed=3, execution_count=25)
    history = run_task(search, lambda point: 0.0, batch=4)
    assert search.total == 25
    assert len(history) == 25
    assert all(space.contains(point) for point, _ in history)
    assert len({key(p) for p, _ in history}) == 25


def test_same_seed_same_points_other_seed_other_points() -> None:
    space = issue_space()
    a = make_search("random_search", space, seed=11, execution_count=10)
    b = make_search("random_search", space, seed=11, execution_count=10)
    c = make_search("random_search", space, seed=12, execution_count=10)
    points_a = [a.point(i) for i in range(10)]
    assert points_a == [b.point(i) for i in range(10)]
    assert points_a != [c.point(i) for i in range(10)]


def test_the_ith_point_depends_only_on_seed_and_index() -> None:
    space = issue_space()
    forward = make_search("random_search", space, seed=5, execution_count=50)
    backward = make_search("random_search", space, seed=5, execution_count=50)
    expected = [forward.point(i) for i in range(50)]
    assert [backward.point(i) for i in reversed(range(50))] == expected[::-1]
    # The documented recipe: a generator seeded with SeedSequence([seed, i]).
    rng = np.random.default_rng(np.random.SeedSequence([5, 17]))
    assert expected[17] == space.sample(rng)


def test_a_restart_proposes_the_same_next_points() -> None:
    space = issue_space()
    first = make_search("random_search", space, seed=2, execution_count=12)
    done = [(p, 1.0) for p in first.propose([], 4)]
    expected = first.propose(done, 4)
    restarted = make_search("random_search", space, seed=2, execution_count=12)
    stored = [(json.loads(json.dumps(p)), v) for p, v in done]
    assert restarted.propose(stored, 4) == expected
    assert restarted.propose(stored, 4, pending=expected[:1]) == [
        *expected[1:],
        restarted.point(8),
    ]


def test_finite_space_never_repeats_and_ends_when_used_up() -> None:
    search = make_search("random_search", small_space(), seed=0, execution_count=40)
    assert search.total == 12
    history = run_task(search, lambda point: None, batch=5)
    assert sorted(key(p) for p, _ in history) == sorted(key(p) for p in small_space().grid())


def test_finite_space_draws_are_not_repeated_before_it_is_used_up() -> None:
    space = Space({"a": Integer(0, 99)})
    search = make_search("random_search", space, seed=1, execution_count=100)
    points = [search.point(i) for i in range(100)]
    assert sorted(p["a"] for p in points if p) == list(range(100))
    # Still random: not the grid order.
    assert [p["a"] for p in points if p][:10] != list(range(10))


def test_execution_count_is_required() -> None:
    with pytest.raises(ValidationError) as info:
        make_search("random_search", issue_space())
    assert info.value.field == "execution_count"
    with pytest.raises(ValidationError) as info:
        RandomSearch(issue_space(), execution_count=-1)
    assert info.value.field == "execution_count"


@pytest.mark.parametrize("seed", [1.5, "3", True, None])
def test_seed_must_be_an_integer(seed: object) -> None:
    with pytest.raises(ValidationError) as info:
        make_search("random_search", issue_space(), seed=seed, execution_count=3)  # type: ignore[arg-type]
    assert info.value.field == "seed"


def test_negative_seeds_are_valid_and_distinct() -> None:
    space = issue_space()
    points = {
        key(make_search("random_search", space, seed=s, execution_count=1).point(0) or {})
        for s in (-1, 0, 1, 2**64 - 1)
    }
    assert len(points) == 3  # -1 and 2**64-1 are the same 64-bit seed; the rest differ


def test_zero_executions_propose_nothing() -> None:
    search = make_search("random_search", issue_space(), execution_count=0)
    assert search.total == 0
    assert search.propose([], 3) == []
    assert search.is_random_only
