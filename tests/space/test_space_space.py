"""Space: ordered names, grid enumeration, size, sampling and JSON form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hyperstep.space import Categorical, Fixed, Integer, LogUniform, Space, SpaceError, Uniform


def make_space() -> Space:
    return Space(
        {
            "optimizer": Categorical(["adam", "sgd"]),
            "batch": Integer(16, 48, step=16),
            "dropout": Fixed(0.1),
        }
    )


def test_names_keep_insertion_order():
    assert make_space().names == ["optimizer", "batch", "dropout"]


def test_grid_is_the_product_with_the_last_name_fastest():
    points = list(make_space().grid())
    assert points == [
        {"optimizer": "adam", "batch": 16, "dropout": 0.1},
        {"optimizer": "adam", "batch": 32, "dropout": 0.1},
        {"optimizer": "adam", "batch": 48, "dropout": 0.1},
        {"optimizer": "sgd", "batch": 16, "dropout": 0.1},
        {"optimizer": "sgd", "batch": 32, "dropout": 0.1},
        {"optimizer": "sgd", "batch": 48, "dropout": 0.1},
    ]
    assert make_space().size == 6


def test_grid_is_stable_between_calls():
    space = make_space()
    assert list(space.grid()) == list(space.grid())


def test_grid_refuses_a_continuous_dimension_and_names_it():
    space = Space({"batch": Integer(1, 2), "lr": LogUniform(-5, -1)})
    assert space.size is None
    with pytest.raises(SpaceError, match="continuous") as info:
        list(space.grid())
    assert info.value.field == "parameters.lr"
    assert str(info.value).startswith("parameters.lr: loguniform(-5, -1) is continuous")


def test_grid_of_a_stepped_float():
    space = Space({"x": Uniform(0, 1, step=0.5)})
    assert list(space.grid()) == [{"x": 0.0}, {"x": 0.5}, {"x": 1.0}]


def test_grid_refuses_huge_dimensions_naming_them():
    space = Space({"n": Integer(0, 10**8)})
    assert space.size == 10**8 + 1
    with pytest.raises(SpaceError, match="too many to enumerate") as info:
        next(space.grid())
    assert info.value.field == "parameters.n"


def test_empty_space_has_one_empty_point():
    assert Space().size == 1
    assert list(Space().grid()) == [{}]


def test_sample_is_reproducible_with_a_seed():
    space = Space({"lr": LogUniform(-5, -1), "batch": Integer(16, 128, step=16)})
    first = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    again = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    assert first == again
    point = first[0]
    assert list(point) == ["lr", "batch"]
    assert space.contains(point)


def test_contains_needs_exactly_the_names():
    space = make_space()
    assert space.contains({"optimizer": "sgd", "batch": 32, "dropout": 0.1})
    assert not space.contains({"optimizer": "sgd", "batch": 32})
    assert not space.contains({"optimizer": "sgd", "batch": 32, "dropout": 0.1, "x": 1})
    assert not space.contains({"optimizer": "rmsprop", "batch": 32, "dropout": 0.1})


def test_json_round_trip_keeps_order():
    space = Space({"z": Uniform(0, 1), "a": Categorical([1, 2], ordered=True), "m": Fixed("x")})
    data = json.loads(json.dumps(space.to_json()))
    assert [entry["name"] for entry in data["parameters"]] == ["z", "a", "m"]
    back = Space.from_json(data)
    assert back == space and back.names == ["z", "a", "m"]


@pytest.mark.parametrize(
    ("data", "message", "field"),
    [
        ({}, "parameters", None),
        ({"parameters": [{"name": "a"}]}, "must be a JSON object", "parameters.a"),
        ({"parameters": [{"distribution": {}}]}, "name", "parameters[0]"),
        (
            {
                "parameters": [
                    {"name": "a", "distribution": {"type": "uniform", "low": 2, "high": 1}}
                ]
            },
            "greater than",
            "parameters.a",
        ),
        (
            {
                "parameters": [
                    {"name": "a", "distribution": {"type": "fixed", "value": 1}},
                    {"name": "a", "distribution": {"type": "fixed", "value": 2}},
                ]
            },
            "appears twice",
            "parameters[1]",
        ),
    ],
)
def test_from_json_errors_name_the_parameter(data, message, field):
    with pytest.raises(SpaceError, match=message) as info:
        Space.from_json(data)
    assert info.value.field == field


def test_only_distributions_may_be_stored():
    space = Space()
    with pytest.raises(SpaceError, match="must be a distribution"):
        space["x"] = 3  # type: ignore[assignment]
    with pytest.raises(SpaceError, match="non-empty string"):
        space[""] = Fixed(1)
