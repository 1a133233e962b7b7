"""Variant values and distributions against a step parameter's type, min, max and choices."""

from __future__ import annotations

import pytest

from hyperstep.space import (
    Categorical,
    Fixed,
    Integer,
    LogUniform,
    SpaceError,
    Uniform,
    check_against_parameter,
)

F = "parameters.lr"


def ok(subject, **kwargs) -> None:
    check_against_parameter(subject, field=F, **kwargs)


def fails(subject, message, **kwargs) -> None:
    with pytest.raises(SpaceError, match=message) as info:
        check_against_parameter(subject, field=F, **kwargs)
    assert info.value.field == F


def test_fitting_subjects_pass():
    ok(Uniform(0, 1), kind="float", minimum=0, maximum=1)
    ok(LogUniform(-5, -1), kind="float", minimum=0, maximum=0.1)
    ok(Integer(16, 128, 16), kind="integer", minimum=1, maximum=128)
    ok(Categorical(["adam", "sgd"]), kind="string", choices=["adam", "sgd", "rmsprop"])
    ok(Fixed(True), kind="flag")
    ok([1, 2, 3], kind="integer", minimum=1, maximum=3)
    ok([4.0, 16.0], kind="integer")  # integral floats from a logspace are integers
    ok([0.5, 1], kind="float")
    ok(["a", 1, 2.5, True], kind="string")  # a string parameter takes any scalar
    ok(Uniform(0, 10, step=2), kind="integer")  # every lattice point is a whole number


def test_bounds():
    fails(
        Uniform(-1, 1), "can give -1, which is below the parameter's min 0", kind="float", minimum=0
    )
    fails(LogUniform(-5, 0), "can give 1, which is above the parameter's max 0.5", kind="float",
          maximum=0.5)  # fmt: skip
    fails([1, 2, 50], "value 50, which is above the parameter's max 10", kind="integer", maximum=10)
    fails(Categorical([0.5, -1]), "value -1, which is below", kind="float", minimum=0)


def test_a_lattice_is_checked_at_its_last_point_not_at_high():
    ok(Uniform(0, 1.1, step=0.5), kind="float", maximum=1.0)  # 0, 0.5, 1.0
    ok(Integer(1, 12, step=5), kind="integer", maximum=11)  # 1, 6, 11


def test_float_noise_at_a_bound_is_tolerated():
    ok([0.1 + 0.2], kind="float", maximum=0.3)


def test_types():
    fails(Uniform(0, 1), "gives fractional values, but the parameter is an integer", kind="integer")
    fails(Uniform(0, 1, step=0.5), "fractional", kind="integer")
    fails([1, 2.5], "2.5 is not an integer", kind="integer")
    fails([True], "true is not an integer", kind="integer")
    fails(["a"], "'a' is not a number", kind="float")
    fails([1], "1 is not true or false", kind="flag")
    fails(Integer(0, 1), "gives numbers, but the parameter is a flag", kind="flag")


def test_choices():
    fails(Categorical(["adam", "ada"]), "'ada' is not one of the choices", kind="string",
          choices=["adam", "sgd"])  # fmt: skip
    fails(Uniform(0, 1), "is continuous, but the parameter only takes its choices", kind="float",
          choices=[0.1, 0.2])  # fmt: skip
    ok(Integer(1, 3), kind="integer", choices=[1, 2, 3])
    fails(Integer(1, 4), "4 is not one of the choices", kind="integer", choices=[1, 2, 3])
    ok([1, 2], kind="integer", choices=["1", "2"])  # numeric choices written as strings
    ok([True], kind="flag", choices=["true", "false"])


def test_unknown_kind():
    with pytest.raises(SpaceError, match="unknown parameter type 'number'"):
        check_against_parameter([1], kind="number", field=F)
