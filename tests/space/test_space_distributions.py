"""Distributions: validation, sampling, support, membership and JSON form."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hyperstep.errors import ValidationError
from hyperstep.space import (
    MAX_ENUMERATION,
    Categorical,
    Distribution,
    Fixed,
    Integer,
    LogUniform,
    SpaceError,
    Uniform,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def draws(dist: Distribution, rng: np.random.Generator, n: int = 500) -> list:
    return [dist.sample(rng) for _ in range(n)]


# -- Uniform -------------------------------------------------------------------------------------


def test_uniform_samples_plain_floats_inside_bounds(rng):
    dist = Uniform(-2, 3.5)
    values = draws(dist, rng)
    assert all(type(v) is float and -2 <= v <= 3.5 for v in values)
    assert max(values) - min(values) > 4  # spread over the range, not stuck
    assert dist.values() is None and dist.size is None


def test_uniform_step_gives_clean_lattice_values():
    dist = Uniform(0, 0.5, step=0.05)
    assert dist.values() == [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]
    assert repr(dist.values()[7]) == "0.35"
    assert dist.size == 11


def test_uniform_step_lattice_starts_at_low_and_stops_inside_high():
    assert Uniform(0.1, 1, step=0.4).values() == [0.1, 0.5, 0.9]


def test_uniform_step_samples_every_lattice_point(rng):
    dist = Uniform(0, 0.5, step=0.05)
    seen = set(draws(dist, rng, 2000))
    assert seen == set(dist.values())


def test_uniform_contains():
    dist = Uniform(0, 1, step=0.25)
    assert dist.contains(0.75) and dist.contains(1) and dist.contains(0)
    assert not dist.contains(0.3)
    assert not dist.contains(1.25)
    assert not dist.contains(True)
    assert not dist.contains("0.5")
    assert Uniform(0, 1).contains(0.3)
    assert not Uniform(0, 1).contains(math.nan)


def test_uniform_degenerate_range_is_one_value(rng):
    dist = Uniform(2.5, 2.5)
    assert dist.size == 1 and dist.values() == [2.5]
    assert dist.sample(rng) == 2.5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1, 0), "low 1 is greater than high 0"),
        ((0, 1, 0), "step must be greater than 0"),
        ((0, 1, -0.1), "step must be greater than 0"),
        ((math.nan, 1), "low must be a finite number"),
        ((0, math.inf), "high must be a finite number"),
        ((True, 2), "low must be a finite number"),
        (("0", 1), "low must be a finite number"),
    ],
)
def test_uniform_rejects_bad_arguments(args, message):
    with pytest.raises(SpaceError, match=message):
        Uniform(*args)


def test_space_error_is_a_validation_error():
    with pytest.raises(ValidationError):
        Uniform(1, 0)


# -- LogUniform ----------------------------------------------------------------------------------


def test_loguniform_bounds_are_powers_of_the_exponents():
    dist = LogUniform(-5, -1)
    assert (dist.low, dist.high) == (1e-05, 0.1)
    assert (LogUniform(3, 5, base=2).low, LogUniform(3, 5, base=2).high) == (8.0, 32.0)


def test_loguniform_base_below_one_orders_bounds():
    dist = LogUniform(1, 3, base=0.5)
    assert (dist.low, dist.high) == (0.125, 0.5)


def test_loguniform_samples_inside_bounds_and_spread_over_decades(rng):
    dist = LogUniform(-5, -1)
    values = draws(dist, rng, 2000)
    assert all(type(v) is float and 1e-5 <= v <= 0.1 for v in values)
    decades = {math.floor(math.log10(v)) for v in values}
    assert decades == {-5, -4, -3, -2}  # (-1 only at the exact top value)


def test_loguniform_step_rounds_the_value_not_the_exponent(rng):
    dist = LogUniform(0, 2, step=5)  # 1 … 100, lattice 1, 6, 11, … 96
    assert dist.values() == [1 + 5 * k for k in range(20)]
    for value in draws(dist, rng):
        assert value in dist.values()
        assert dist.contains(value)
    assert not dist.contains(2.0)


def test_loguniform_contains():
    dist = LogUniform(-3, 0)
    assert dist.contains(0.001) and dist.contains(1) and dist.contains(0.5)
    assert not dist.contains(0.0005) and not dist.contains(2) and not dist.contains(False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, -5), "min_exp -1 is greater than max_exp -5"),
        ((-5, -1, 1), "base must be positive and not 1"),
        ((-5, -1, 0), "base must be positive and not 1"),
        ((-5, -1, -10), "base must be positive and not 1"),
        ((-5, -1, 10, 0), "step must be greater than 0"),
        ((0, 400), "out of the float range"),
        ((-400, 0), "out of the float range"),
    ],
)
def test_loguniform_rejects_bad_arguments(args, message):
    with pytest.raises(SpaceError, match=message):
        LogUniform(*args)


# -- Integer -------------------------------------------------------------------------------------


def test_integer_support_and_samples(rng):
    dist = Integer(16, 128, step=16)
    assert dist.values() == [16, 32, 48, 64, 80, 96, 112, 128]
    assert dist.size == 8
    values = draws(dist, rng)
    assert all(type(v) is int for v in values)
    assert set(values) == set(dist.values())


def test_integer_lattice_stops_below_high():
    assert Integer(1, 10, step=4).values() == [1, 5, 9]


def test_integer_log_scale_favours_small_values(rng):
    dist = Integer(1, 1000, log=True)
    values = draws(dist, rng, 3000)
    assert all(type(v) is int and 1 <= v <= 1000 for v in values)
    below_32 = sum(v < 32 for v in values) / len(values)
    assert 0.4 < below_32 < 0.6  # half the log range lies below sqrt(1000) ≈ 31.6


def test_integer_contains():
    dist = Integer(0, 10, step=2)
    assert dist.contains(4) and dist.contains(4.0)
    assert not dist.contains(5) and not dist.contains(12) and not dist.contains(4.5)
    assert not dist.contains(True) and not dist.contains("4")


def test_integer_accepts_integral_floats_as_ints():
    dist = Integer(1.0, 5.0, 2.0)
    assert (dist.low, dist.high, dist.step) == (1, 5, 2)
    assert all(type(v) is int for v in (dist.low, dist.high, dist.step))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"low": 5, "high": 1}, "low 5 is greater than high 1"),
        ({"low": 1.5, "high": 3}, "low must be an integer"),
        ({"low": 1, "high": 3, "step": 0}, "step must be greater than 0"),
        ({"low": 0, "high": 10, "log": True}, "needs low >= 1"),
        ({"low": 1, "high": 10, "step": 2, "log": True}, "needs step 1"),
        ({"low": True, "high": 3}, "low must be an integer"),
    ],
)
def test_integer_rejects_bad_arguments(kwargs, message):
    with pytest.raises(SpaceError, match=message):
        Integer(**kwargs)


# -- Categorical and Fixed -----------------------------------------------------------------------


def test_categorical_samples_its_choices(rng):
    dist = Categorical(["adam", "sgd", 3, 0.5, True])
    values = draws(dist, rng)
    assert set(map(repr, values)) == {"'adam'", "'sgd'", "3", "0.5", "True"}
    assert dist.values() == ["adam", "sgd", 3, 0.5, True]
    assert dist.size == 5 and not dist.ordered


def test_categorical_membership_keeps_types_apart():
    dist = Categorical([1, "2", False])
    assert dist.contains(1) and dist.contains(1.0) and dist.contains("2") and dist.contains(False)
    assert not dist.contains(True)  # True == 1 in Python, not here
    assert not dist.contains(2) and not dist.contains(0) and not dist.contains("1")


def test_categorical_equality_keeps_types_apart():
    assert Categorical([1, 2]) == Categorical([1, 2])
    assert Categorical([1]) != Categorical([True])
    assert Categorical([1], ordered=True) != Categorical([1])


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ([], "must not be empty"),
        ("abc", "must be a list"),
        ([1, None], "choice #2 must be a string"),
        ([[1, 2]], "choice #1 must be a string"),
        ([math.nan], "choice #1 must be a string, a finite number"),
    ],
)
def test_categorical_rejects_bad_choices(choices, message):
    with pytest.raises(SpaceError, match=message):
        Categorical(choices)


def test_fixed(rng):
    dist = Fixed(3)
    assert dist.sample(rng) == 3 and dist.values() == [3] and dist.size == 1
    assert dist.contains(3) and not dist.contains(True) and not dist.contains("3")
    assert Fixed(True) != Fixed(1)
    with pytest.raises(SpaceError, match="fixed value must be"):
        Fixed(None)


# -- enumeration limit and JSON ------------------------------------------------------------------


def test_values_refuses_to_enumerate_huge_supports_but_size_is_exact():
    dist = Integer(0, 10**9)
    assert dist.size == 10**9 + 1
    with pytest.raises(SpaceError, match="too many to enumerate"):
        dist.values()
    assert Integer(1, MAX_ENUMERATION).values() is not None


@pytest.mark.parametrize(
    "dist",
    [
        Uniform(0, 1),
        Uniform(-1.5, 2.5, step=0.5),
        LogUniform(-5, -1),
        LogUniform(1, 4, base=2, step=0.5),
        Integer(1, 10),
        Integer(1, 1000, log=True),
        Integer(0, 100, step=5),
        Categorical(["a", 1, 2.5, True]),
        Categorical([0.1, 0.01], ordered=True),
        Fixed("adam"),
        Fixed(False),
    ],
    ids=str,
)
def test_json_round_trip(dist):
    data = json.loads(json.dumps(dist.to_json()))
    back = Distribution.from_json(data)
    assert back == dist
    assert type(back) is type(dist)
    assert back.to_json() == dist.to_json()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "gaussian"}, "unknown distribution type 'gaussian'"),
        ({}, "unknown distribution type None"),
        ({"type": "uniform", "low": 0}, "lacks 'high'"),
        ({"type": "uniform", "low": 1, "high": 0}, "greater than"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_from_json_rejects_bad_data(data, message):
    with pytest.raises(SpaceError, match=message):
        Distribution.from_json(data)


def test_str_is_the_cli_spelling():
    assert str(Uniform(0, 0.5, step=0.05)) == "uniform(0, 0.5, step=0.05)"
    assert str(LogUniform(-5, -1)) == "loguniform(-5, -1)"
    assert str(Integer(16, 128, step=16)) == "integer(16, 128, step=16)"
    assert str(Categorical(["adam", 1])) == "categorical('adam', 1)"
    assert str(Fixed(True)) == "fixed(true)"


def test_numpy_scalars_become_plain_values():
    dist = Categorical([np.int64(3), np.float64(0.5), np.bool_(True), np.str_("a")])
    assert [type(c) for c in dist.choices] == [int, float, bool, str]
    assert Integer(0, 10).contains(np.int64(4))
    assert Uniform(0, 1).contains(np.float32(0.5))
    assert type(Fixed(np.int32(2)).value) is int
    assert Uniform(np.int64(0), np.float64(1)).to_json() == Uniform(0, 1.0).to_json()
    assert type(LogUniform(np.int64(-2), np.int64(0)).min_exp) is int
