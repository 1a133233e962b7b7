"""How engines see a space: index arithmetic, lattice rounding, encode/decode."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.search.search_support import mixed_space, small_space

from hyperstep.search.dimensions import (
    decode_point,
    dimension,
    dimensions,
    encode_point,
    nth_value,
    point_at,
)
from hyperstep.search.points import value_key
from hyperstep.space import Categorical, Distribution, Fixed, Integer, LogUniform, Space, Uniform

steps = st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.25, 0.3, 1.0, 2.5])
lows = st.sampled_from([-1.0, 0, 0.1, 0.8, 3.0])


@st.composite
def stepped_uniforms(draw: st.DrawFn) -> Uniform:
    low = draw(lows)
    step = draw(steps)
    return Uniform(
        low, low + step * draw(st.integers(1, 40)) + draw(st.sampled_from([0, 0.001])), step
    )


@st.composite
def finite_distributions(draw: st.DrawFn) -> Distribution:
    dist: Distribution = draw(
        st.one_of(
            stepped_uniforms(),
            st.builds(
                lambda lo, span, step: Integer(lo, lo + span, step),
                st.integers(-50, 50),
                st.integers(0, 200),
                st.integers(1, 7),
            ),
            st.builds(
                lambda lo, span, step: LogUniform(lo, lo + span, step=step),
                st.sampled_from([-3, -2, -1]),
                st.sampled_from([1, 2]),
                st.sampled_from([0.001, 0.005, 0.01]),
            ),
            st.just(Categorical(["a", 1, 1.5, True, "b"])),
            st.just(Categorical([0.1, 0.2, 0.4], ordered=True)),
            st.just(Fixed("x")),
        )
    )
    return dist


@given(finite_distributions())
@settings(max_examples=60, deadline=None)
def test_nth_value_is_the_values_list(dist: Distribution) -> None:
    values = dist.values()
    assert values is not None
    computed = [nth_value(dist, k) for k in range(len(values))]
    assert [value_key(v) for v in computed] == [value_key(v) for v in values]
    # Exactly the same floats, not just close ones: a proposal must equal the grid's value.
    assert computed == values


def test_point_at_follows_grid_order() -> None:
    space = small_space()
    grid = list(space.grid())
    assert [point_at(space, i) for i in range(len(grid))] == grid


@pytest.mark.parametrize(("name", "dist"), list(mixed_space().items()))
def test_encode_then_decode_gives_the_value_back(name: str, dist: Distribution) -> None:
    dim = dimension(name, dist)
    rng = np.random.default_rng(7)
    for _ in range(200):
        value = dist.sample(rng)
        if dim.kind == "fixed":
            assert dim.decode(0) == value
            continue
        raw = dim.encode(value)
        assert raw is not None
        assert dim.low - 1e-12 <= raw <= dim.high + 1e-12
        assert value_key(dim.decode(raw)) == value_key(value)


@pytest.mark.parametrize(("name", "dist"), list(mixed_space().items()))
@given(raw=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
@settings(max_examples=40, deadline=None)
def test_any_library_number_decodes_into_the_space(
    name: str, dist: Distribution, raw: float
) -> None:
    assert dist.contains(dimension(name, dist).decode(raw))


def test_kinds() -> None:
    kinds = {dim.name: dim.kind for dim in dimensions(mixed_space())}
    assert kinds == {
        "lr": "float",
        "width": "int_log",
        "units": "lattice",
        "act": "choice",
        "momentum": "lattice",
        "drop": "lattice",
        "x": "float",
        "batch": "fixed",
    }
    one_value = dimension("u", Uniform(2.0, 2.0))
    assert one_value.kind == "fixed"
    assert one_value.decode(None) == 2.0


def test_stepped_loguniform_is_rounded_to_its_lattice() -> None:
    dim = dimension("lr", LogUniform(-3, 0, step=0.25))
    assert dim.kind == "float" and dim.log
    # The lattice is 0.001 + k·0.25, rounded on the value, not on the exponent.
    assert dim.decode(0.2) == 0.251
    assert dim.decode(0.0011) == 0.001
    assert dim.decode(5.0) == 0.751


def test_categorical_encoding_keeps_true_apart_from_one() -> None:
    dim = dimension("c", Categorical([1, True, "1"]))
    assert dim.encode(True) == 1
    assert dim.encode(1) == 0
    assert dim.encode("1") == 2
    assert dim.encode(2) is None


def test_encode_point_refuses_a_point_outside() -> None:
    space = small_space()
    dims = dimensions(space)
    assert encode_point(dims, {"a": 2, "b": "y", "c": 1.0}) == {"a": 1, "b": 1, "c": 1}
    assert encode_point(dims, {"a": 4, "b": "y", "c": 1.0}) is None
    assert encode_point(dims, {"a": 2, "b": "y"}) is None
    assert decode_point(dims, {"a": 1, "b": 1, "c": 1}) == {"a": 2, "b": "y", "c": 1.0}


def _is_float(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def test_decoded_values_are_plain_python() -> None:
    space: Space = mixed_space()
    dims = dimensions(space)
    point = decode_point(
        dims, {"lr": np.float64(0.01), "width": np.float64(7.4), "units": np.int64(2)}
    )
    assert type(point["width"]) is int and point["width"] == 7
    assert type(point["units"]) is int and point["units"] == 48
    assert _is_float(point["lr"])
    assert space.contains(point)
