"""make_search: task types by their lenient names, and the settings each needs."""

from __future__ import annotations

import pytest
from tests.search.search_support import issue_space, small_space

from hyperstep.errors import ValidationError
from hyperstep.model import TaskType
from hyperstep.search import (
    BayesianSearch,
    GridSearch,
    ManualSearch,
    RandomSearch,
    Search,
    make_search,
)


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("grid_search", GridSearch),
        ("Grid-Search", GridSearch),
        (TaskType.GRID_SEARCH, GridSearch),
        ("RANDOM-SEARCH", RandomSearch),
        ("manual_search", ManualSearch),
        ("bayesian_tpe", BayesianSearch),
        ("Bayesian-TPE", BayesianSearch),
    ],
)
def test_kinds(kind: str | TaskType, cls: type[Search]) -> None:
    search = make_search(
        kind, small_space(), execution_count=5, parameter_sets=[{"a": 1, "b": "x", "c": 0.0}]
    )
    assert isinstance(search, cls)
    assert search.kind is TaskType.parse(cls.kind.value)


@pytest.mark.parametrize("kind", ["distributed", "grid", "", 3])
def test_unknown_kind_is_named(kind: object) -> None:
    with pytest.raises(ValidationError) as info:
        make_search(kind, small_space())  # type: ignore[arg-type]
    assert info.value.field == "type"


def test_issue_example() -> None:
    search = make_search("bayesian_tpe", issue_space(), engine="optuna", seed=0, startup=20)
    assert search.total is None
    batch = search.propose([], n=5)
    assert len(batch) == 5
    assert all(issue_space().contains(p) for p in batch)
    assert batch == [search.point(i) for i in range(5)]


def test_only_a_long_bayesian_search_learns() -> None:
    assert make_search("grid_search", small_space()).is_random_only
    assert make_search("random_search", small_space(), execution_count=3).is_random_only
    assert not make_search("bayesian_tpe", issue_space(), execution_count=30).is_random_only
