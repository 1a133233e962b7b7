"""The CLI's compact spelling of a variant parameter (``--param 'name=SPEC'``)."""

from __future__ import annotations

import pytest

from hyperstep.space import SpaceError, parse_distribution, variant_distribution


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("uniform(0,1)", ("random", {"distribution": "uniform", "min": 0, "max": 1})),
        (
            "uniform(0, 0.5, step=0.05)",
            ("random", {"distribution": "uniform", "min": 0, "max": 0.5, "step": 0.05}),
        ),
        ("loguniform(-5,-1)", ("random", {"distribution": "loguniform", "min": -5, "max": -1})),
        (
            "loguniform(-5, -1, base=2)",
            ("random", {"distribution": "loguniform", "min": -5, "max": -1, "base": 2}),
        ),
        (
            "log-uniform(1e-5, 1e-1)",
            ("random", {"distribution": "loguniform", "min": 1e-5, "max": 0.1}),
        ),
        (
            "integer(16,128,step=16)",
            ("random", {"distribution": "integer", "min": 16, "max": 128, "step": 16}),
        ),
        ("int(min=1, max=3)", ("random", {"distribution": "integer", "min": 1, "max": 3})),
        ("categorical(adam,sgd)", ("multiple", {"items": ["adam", "sgd"]})),
        ("multiple(1, 2.5, true, False)", ("multiple", {"items": [1, 2.5, True, False]})),
        ("choice('a, b', \"c)\", 'it\\'s')", ("multiple", {"items": ["a, b", "c)", "it's"]})),
        ("categorical('1', 1)", ("multiple", {"items": ["1", 1]})),
        ("linear(0, 1, 0.1)", ("linear", {"start": 0, "end": 1, "step": 0.1})),
        ("linear(start=1, end=9, step=2)", ("linear", {"start": 1, "end": 9, "step": 2})),
        ("logspace(-5,-1,5)", ("logspace", {"start": -5, "end": -1, "count": 5})),
        ("logspace(2, 8, 4, base=2)", ("logspace", {"start": 2, "end": 8, "count": 4, "base": 2})),
        (
            "random(0, 10, 5, seed=3, integerify=true)",
            ("random", {"min": 0, "max": 10, "count": 5, "seed": 3, "integerify": True}),
        ),
        ("fixed(3)", ("single", {"value": 3})),
        ("single(adam)", ("single", {"value": "adam"})),
        ("3", ("single", {"value": 3})),
        ("-0.5", ("single", {"value": -0.5})),
        ("adam", ("single", {"value": "adam"})),
        ("TRUE", ("single", {"value": True})),
        ("'007'", ("single", {"value": "007"})),
        ("a, b", ("single", {"value": "a, b"})),
        ("  UNIFORM ( 0 , 1 )  ", ("random", {"distribution": "uniform", "min": 0, "max": 1})),
    ],
)
def test_parses(text, expected):
    assert parse_distribution(text) == expected


def test_parsed_specs_build_the_expected_distribution():
    style, rules = parse_distribution("loguniform(-5,-1)")
    dist = variant_distribution(style, rules, field="x")
    assert (dist.low, dist.high) == (1e-05, 0.1)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty value"),
        ("   ", "empty value"),
        ("gauss(0, 1)", "'gauss(0, 1)': unknown call 'gauss'"),
        ("uniform(0, 1", "'uniform(0, 1': missing the closing ')'"),
        ("uniform(0)", "uniform() needs min, max; missing max"),
        ("uniform(0, 1, 2)", "uniform() takes at most 2 values, got 3"),
        ("uniform(0, 1, base=2)", "uniform() takes no argument 'base'"),
        ("uniform(0, 1, min=0)", "min is given twice"),
        ("uniform(min=0, 1)", "positional argument cannot follow"),
        ("uniform(1, 0)", "'uniform(1, 0)': min: 1 is greater than max 0"),
        ("uniform(0, 1, step=-1)", "step: must be greater than 0"),
        ("uniform(a, 1)", "min: must be a number, not 'a'"),
        ("integer(1.5, 3)", "min: must be an integer"),
        ("loguniform(-5, -1, base=1)", "base: must be positive and not 1"),
        ("categorical()", "categorical() needs at least one value"),
        ("categorical(a,,b)", "argument #2 is empty"),
        ("categorical(a, (b))", "unexpected '('"),
        ("categorical('a)", "unclosed quote '"),
        ("categorical('a'b)", "text after the closing quote"),
        ("linear(0, 1, -0.1)", "step: -0.1 goes away from end 1"),
        ("linear(0, 1, 0)", "step: must not be 0"),
        ("linear(0, 1, 0.000001)", "too many"),
        ("logspace(-5, -1, 0)", "count: must be a whole number of at least 1"),
        ("logspace(-5, -1)", "logspace() needs start, end, count; missing count"),
        ("random(0, 1, 0)", "count: must be a whole number of at least 1"),
        ("random(0, 1, distribution=normal)", "unknown distribution 'normal'"),
        ("fixed()", "fixed() needs value"),
        ("fixed(1, 2)", "fixed() takes at most 1 values"),
    ],
)
def test_errors_quote_the_text_and_say_what_is_wrong(text, message):
    with pytest.raises(SpaceError) as info:
        parse_distribution(text, field="--param lr")
    assert message in str(info.value)
    assert info.value.field == "--param lr"
    assert str(info.value).startswith("--param lr: ")


def test_errors_without_a_field():
    with pytest.raises(SpaceError) as info:
        parse_distribution("uniform(2, 1)")
    assert info.value.field is None
    assert str(info.value) == "'uniform(2, 1)': min: 2 is greater than max 1"
