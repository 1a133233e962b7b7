"""Manual search: one execution per parameter set (a zip, not a product)."""

from __future__ import annotations

import pytest
from tests.search.search_support import run_task

from hyperstep.errors import ValidationError
from hyperstep.search import make_search
from hyperstep.space import Space

SETS = [
    {"lr": 0.1, "units": 16},
    {"lr": 0.01, "units": 32},
    {"lr": 0.1, "units": 16},  # listed twice: runs twice
    {"lr": 0.001, "units": 64},
]


def test_one_point_per_set_in_order() -> None:
    search = make_search("manual_search", Space(), parameter_sets=SETS)
    assert search.total == 4
    assert [search.point(i) for i in range(5)] == [*SETS, None]
    assert search.propose([], 10) == SETS


def test_a_set_listed_twice_runs_twice() -> None:
    search = make_search("Manual-Search", Space(), parameter_sets=SETS)
    history = run_task(search, lambda point: point["lr"], batch=3)
    assert [p for p, _ in history] == SETS
    assert search.propose([(SETS[0], 1.0)], 10) == SETS[1:]
    assert search.propose([(SETS[0], 1.0), (SETS[2], None)], 10) == [SETS[1], SETS[3]]


def test_pending_sets_are_not_proposed_again() -> None:
    search = make_search("manual_search", Space(), parameter_sets=SETS)
    assert search.propose([], 2, pending=[SETS[1]]) == [SETS[0], SETS[2]]


def test_points_are_copies() -> None:
    search = make_search("manual_search", Space(), parameter_sets=SETS)
    point = search.point(0)
    assert point is not None
    point["lr"] = 5
    assert search.point(0) == SETS[0]


@pytest.mark.parametrize("sets", [None, "lr=1", {"lr": 1}])
def test_missing_or_invalid_sets_name_the_field(sets: object) -> None:
    with pytest.raises(ValidationError) as info:
        make_search("manual_search", Space(), parameter_sets=sets)  # type: ignore[arg-type]
    assert info.value.field == "parameter_sets"


def test_a_set_that_is_not_a_dict_is_named() -> None:
    with pytest.raises(ValidationError) as info:
        make_search("manual_search", Space(), parameter_sets=[{"lr": 1}, ["lr", 2]])  # type: ignore[list-item]
    assert info.value.field == "parameter_sets[1]"
