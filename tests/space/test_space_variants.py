"""Variant parameters (style + rules) as value lists and as distributions."""

from __future__ import annotations

import pytest

from hyperstep.space import (
    MAX_VALUES,
    Categorical,
    Fixed,
    Integer,
    LogUniform,
    SpaceError,
    Uniform,
    variant_distribution,
    variant_values,
)

F = "parameters.lr"


def values(style, rules, **kwargs):
    return variant_values(style, rules, field=F, **kwargs)


# -- values ---------------------------------------------------------------------------------------


def test_single_and_multiple():
    assert values("single", {"value": 25}) == [25]
    assert values("single", {"value": "adam"}) == ["adam"]
    assert values("multiple", {"items": [25, 26]}) == [25, 26]
    assert values("multiple", {"items": ["adam", 1, 0.5, True]}) == ["adam", 1, 0.5, True]


def test_linear_is_end_inclusive_and_float_tolerant():
    assert values("linear", {"start": 0.8, "end": 0.9, "step": 0.01}) == [
        0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9,
    ]  # fmt: skip
    assert values("linear", {"start": 0.001, "end": 0.002, "step": 0.0002}) == [
        0.001, 0.0012, 0.0014, 0.0016, 0.0018, 0.002,
    ]  # fmt: skip


def test_linear_tolerates_noise_in_the_end():
    assert values("linear", {"start": 0, "end": 0.1 + 0.2, "step": 0.1}) == [0.0, 0.1, 0.2, 0.3]


def test_linear_stops_before_an_end_off_the_lattice():
    assert values("linear", {"start": 0, "end": 1, "step": 0.3}) == [0.0, 0.3, 0.6, 0.9]


def test_linear_of_ints_gives_ints():
    result = values("linear", {"start": 1, "end": 9, "step": 2})
    assert result == [1, 3, 5, 7, 9] and all(type(v) is int for v in result)
    assert values("linear", {"start": 25, "end": 25, "step": 1}) == [25]


def test_linear_counts_down_with_a_negative_step():
    assert values("linear", {"start": 1, "end": 0, "step": -0.25}) == [1.0, 0.75, 0.5, 0.25, 0.0]


def test_logspace_is_base_to_the_linspace():
    assert values("logspace", {"start": 2, "end": 8, "count": 4, "base": 2}) == [4, 16, 64, 256]
    assert values("logspace", {"min": -5, "max": -1, "count": 5}) == [1e-5, 1e-4, 1e-3, 0.01, 0.1]
    assert values("logspace", {"start": 25, "end": 25, "count": 4, "base": 10}) == [1e25] * 4
    assert values("logspace", {"start": 0, "end": 1, "count": 3}) == [1.0, 3.16227766016838, 10.0]
    assert values("logspace", {"start": -1, "end": 1, "count": 1}) == [0.1]


def test_logspace_values_are_clean_python_numbers():
    result = values("logspace", {"min": -3, "max": 0, "count": 7})
    assert all(type(v) is float for v in result)
    assert [repr(v) for v in result][:3] == ["0.001", "0.00316227766016838", "0.01"]


def test_random_draws_count_values_reproducibly_with_a_seed():
    rules = {"min": 1, "max": 25, "count": 10, "seed": 42}
    first = values("random", rules)
    assert len(first) == 10
    assert all(type(v) is float and 1 <= v <= 25 for v in first)
    assert values("random", rules) == first
    assert values("random", {**rules, "seed": 43}) != first


def test_random_without_a_seed_uses_the_given_default_seed():
    rules = {"min": 0, "max": 1, "count": 5}
    assert values("random", rules, seed=3) == values("random", rules, seed=3)
    assert values("random", rules, seed=3) != values("random", rules, seed=4)
    assert values("random", {**rules, "seed": 9}, seed=3) == values("random", {**rules, "seed": 9})


def test_random_distributions():
    logs = values("random", {"min": -5, "max": -1, "count": 50, "distribution": "log-uniform"})
    assert all(1e-5 <= v <= 0.1 for v in logs)
    ints = values("random", {"min": 1, "max": 6, "count": 50, "distribution": "int", "seed": 1})
    assert all(type(v) is int and 1 <= v <= 6 for v in ints)
    stepped = values("random", {"min": 0, "max": 1, "step": 0.25, "count": 50, "seed": 1})
    assert set(stepped) <= {0.0, 0.25, 0.5, 0.75, 1.0}


def test_integerify_floors_and_removes_repeats_in_order():
    rules = {"start": 0, "end": 3, "count": 7, "base": 2, "integerify": True}
    # 2 ** [0, 0.5, 1, 1.5, 2, 2.5, 3] = 1, 1.41, 2, 2.83, 4, 5.66, 8
    assert values("logspace", rules) == [1, 2, 4, 5, 8]
    drawn = values("random", {"min": 0, "max": 3, "count": 200, "integerify": True, "seed": 0})
    assert sorted(drawn) == [0, 1, 2] and all(type(v) is int for v in drawn)
    assert values("multiple", {"items": [1.5, 1.7, -0.5], "integerify": True}) == [1, -1]


def test_integerify_needs_numbers():
    with pytest.raises(SpaceError, match="needs numbers") as info:
        values("multiple", {"items": ["a"], "integerify": True})
    assert info.value.field == f"{F}.rules.integerify"


def test_style_is_case_insensitive_and_defaults_to_single():
    assert values("LINEAR", {"start": 0, "end": 2, "step": 1}) == [0, 1, 2]
    assert values(None, {"value": 3}) == [3]
    assert values("", {"value": 3}) == [3]


def test_numbers_written_as_strings_are_read():
    # PyYAML reads `1e-5` (no dot) as a string.
    assert values("linear", {"start": "1e-5", "end": "3e-5", "step": "1e-5"}) == [1e-5, 2e-5, 3e-5]


def test_unknown_rule_keys_are_ignored():
    assert values("multiple", {"items": [1], "numberify": True, "whatever": 3}) == [1]


# -- errors name the field -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "rules", "field", "message"),
    [
        ("grid", {}, "style", "unknown style 'grid'"),
        ("single", None, "rules", "rules must be a mapping, not null"),
        ("single", {}, "rules.value", "is required for style single"),
        ("single", {"value": [1]}, "rules.value", "must be a string, a finite number"),
        ("multiple", {}, "rules.items", "is required"),
        ("multiple", {"items": []}, "rules.items", "at least one value"),
        ("multiple", {"items": "abc"}, "rules.items", "must be a list"),
        ("multiple", {"items": [1, None]}, "rules.items[1]", "must be a string"),
        ("linear", {"end": 1, "step": 0.1}, "rules.start", "is required"),
        ("linear", {"start": 0, "end": 1, "step": 0}, "rules.step", "must not be 0"),
        ("linear", {"start": 0, "end": 1, "step": -0.1}, "rules.step", "goes away from end 1"),
        ("linear", {"start": 0, "end": 1, "step": 1e-7}, "rules.step", "too many"),
        ("linear", {"start": "a", "end": 1, "step": 1}, "rules.start", "must be a number, not 'a'"),
        ("linear", {"start": True, "end": 1, "step": 1}, "rules.start", "finite number"),
        ("linear", {"start": float("nan"), "end": 1, "step": 1}, "rules.start", "finite"),
        ("logspace", {"min": -5, "max": -1}, "rules.count", "is required"),
        ("logspace", {"min": -5, "max": -1, "count": 0}, "rules.count", "at least 1"),
        ("logspace", {"min": -5, "max": -1, "count": 2.5}, "rules.count", "whole number"),
        ("logspace", {"min": -5, "max": -1, "count": MAX_VALUES + 1}, "rules.count", "too many"),
        ("logspace", {"min": -5, "max": -1, "count": 3, "base": 1}, "rules.base", "not 1"),
        ("logspace", {"min": -5, "max": -1, "count": 3, "base": -2}, "rules.base", "positive"),
        ("logspace", {"min": 0, "max": 400, "count": 3}, "rules.max", "float range"),
        ("random", {"min": 0, "max": 1}, "rules.count", "is required"),
        ("random", {"min": 2, "max": 1, "count": 3}, "rules.min", "2 is greater than max 1"),
        ("random", {"max": 1, "count": 3}, "rules.min", "is required"),
        ("random", {"min": 0, "max": 1, "count": 3, "seed": -1}, "rules.seed", "at least 0"),
        ("random", {"min": 0, "max": 1, "count": 3, "distribution": "normal"}, "rules.distribution",
         "unknown distribution 'normal'"),
        ("random", {"min": 0, "max": 1, "count": 1, "step": -1}, "rules.step", "greater than 0"),
        ("multiple", {"items": [1], "integerify": "yes"}, "rules.integerify", "true or false"),
    ],
)  # fmt: skip
def test_errors_name_the_field(style, rules, field, message):
    with pytest.raises(SpaceError, match=message) as info:
        values(style, rules)
    assert info.value.field == f"{F}.{field}"
    assert str(info.value).startswith(f"{F}.{field}: ")


# -- distributions ---------------------------------------------------------------------------------


def dist(style, rules):
    return variant_distribution(style, rules, field=F)


def test_random_maps_to_continuous_and_integer_distributions():
    assert dist("random", {"min": 0, "max": 1}) == Uniform(0, 1)
    assert dist("random", {"distribution": "uniform", "min": 0, "max": 0.5, "step": 0.05}) == (
        Uniform(0, 0.5, 0.05)
    )
    assert dist("random", {"distribution": "integer", "min": 16, "max": 128, "step": 16}) == (
        Integer(16, 128, 16)
    )
    assert dist("random", {"distribution": "loguniform", "min": -5, "max": -1, "base": 2}) == (
        LogUniform(-5, -1, base=2)
    )


@pytest.mark.parametrize(
    "name", ["loguniform", "log_uniform", "log-uniform", "LogUniform", "Logarithmic Uniform"]
)
def test_loguniform_spellings(name):
    assert dist("random", {"distribution": name, "min": -5, "max": -1}) == LogUniform(-5, -1)


@pytest.mark.parametrize("name", ["integer", "int", "INT"])
def test_integer_spellings(name):
    assert dist("random", {"distribution": name, "min": 1, "max": 3}) == Integer(1, 3)


@pytest.mark.parametrize("step", [0, -0.5])
def test_q_step_must_be_positive(step):
    with pytest.raises(SpaceError, match="greater than 0") as info:
        dist("random", {"min": 0, "max": 1, "step": step})
    assert info.value.field.endswith("rules.step")


def test_count_and_seed_do_not_change_the_distribution():
    assert dist("random", {"min": 0, "max": 1, "count": 10, "seed": 3}) == Uniform(0, 1)


def test_integerify_turns_random_into_integers_inside_the_range():
    assert dist("random", {"min": 0.5, "max": 10.5, "integerify": True}) == Integer(1, 10)
    assert dist(
        "random", {"distribution": "loguniform", "min": 0, "max": 3, "integerify": True}
    ) == Integer(1, 1000, log=True)
    with pytest.raises(SpaceError, match="no integer lies between") as info:
        dist("random", {"min": 0.2, "max": 0.8, "integerify": True})
    assert info.value.field == f"{F}.rules.integerify"


def test_discrete_styles_map_to_categorical_and_fixed():
    assert dist("single", {"value": 3}) == Fixed(3)
    assert dist("multiple", {"items": ["adam", "sgd"]}) == Categorical(["adam", "sgd"])
    assert dist("linear", {"start": 0, "end": 0.2, "step": 0.1}) == Categorical(
        [0.0, 0.1, 0.2], ordered=True
    )
    assert dist("logspace", {"min": -2, "max": -1, "count": 2}) == Categorical(
        [0.01, 0.1], ordered=True
    )


@pytest.mark.parametrize(
    ("rules", "field", "message"),
    [
        ({"distribution": "integer", "min": 1.5, "max": 3}, "rules.min", "must be an integer"),
        ({"distribution": "integer", "min": 1, "max": 3, "step": 0.5}, "rules.step", "whole"),
        ({"min": 1, "max": 0}, "rules.min", "greater than max"),
        ({"min": 0}, "rules.max", "is required"),
        ({"min": 0, "max": "x"}, "rules.max", "must be a number"),
        ({"distribution": 3, "min": 0, "max": 1}, "rules.distribution", "unknown distribution"),
        ({"distribution": "loguniform", "min": -5, "max": -1, "base": 1}, "rules.base", "not 1"),
        ({"distribution": "loguniform", "min": 0, "max": 999}, "rules", "float range"),
    ],
)
def test_distribution_errors_name_the_field(rules, field, message):
    with pytest.raises(SpaceError, match=message) as info:
        dist("random", rules)
    assert info.value.field == f"{F}.{field}"


def test_distribution_of_an_unknown_style():
    with pytest.raises(SpaceError, match="unknown style") as info:
        dist("bayes", {})
    assert info.value.field == f"{F}.style"
