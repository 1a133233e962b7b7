"""Property tests: what must hold for every distribution, space and variant rule."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from hyperstep.space import (
    Categorical,
    Distribution,
    Fixed,
    Integer,
    LogUniform,
    Space,
    Uniform,
    parse_distribution,
    variant_values,
)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive_step = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
scalars = st.one_of(
    st.text(max_size=10),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


@st.composite
def uniforms(draw: st.DrawFn) -> Uniform:
    low = draw(finite)
    high = low + draw(st.floats(min_value=0, max_value=1e6))
    return Uniform(low, high, draw(st.none() | positive_step))


@st.composite
def loguniforms(draw: st.DrawFn) -> LogUniform:
    low = draw(st.floats(min_value=-8, max_value=4))
    high = low + draw(st.floats(min_value=0, max_value=6))
    base = draw(st.sampled_from([10.0, 2.0, math.e, 0.5]))
    step = draw(st.none() | st.floats(min_value=1e-4, max_value=100))
    return LogUniform(low, high, base, step)


@st.composite
def integers(draw: st.DrawFn) -> Integer:
    log = draw(st.booleans())
    low = draw(st.integers(min_value=1 if log else -(10**6), max_value=10**6))
    high = low + draw(st.integers(min_value=0, max_value=10**6))
    step = 1 if log else draw(st.integers(min_value=1, max_value=1000))
    return Integer(low, high, step, log)


categoricals = st.builds(
    Categorical, st.lists(scalars, min_size=1, max_size=6), ordered=st.booleans()
)
fixeds = st.builds(Fixed, scalars)
distributions = st.one_of(uniforms(), loguniforms(), integers(), categoricals, fixeds)


def assert_plain(value: object) -> None:
    assert type(value) in (int, float, str, bool), type(value)


@given(uniforms(), seeds)
def test_uniform_samples_lie_inside_and_on_the_lattice(dist, seed):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        value = dist.sample(rng)
        assert type(value) is float
        assert dist.low <= value <= dist.high
        assert dist.contains(value)
        if dist.step is not None:
            k = round((value - dist.low) / dist.step)
            assert math.isclose(value, dist.low + k * dist.step, rel_tol=1e-9, abs_tol=1e-9)


@given(loguniforms(), seeds)
def test_loguniform_samples_lie_inside_and_on_the_lattice(dist, seed):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        value = dist.sample(rng)
        assert type(value) is float
        assert dist.low <= value <= dist.high
        assert dist.contains(value)
        if dist.step is not None:
            k = round((value - dist.low) / dist.step)
            assert math.isclose(value, dist.low + k * dist.step, rel_tol=1e-9, abs_tol=1e-12)


@given(integers(), seeds)
def test_integer_samples_are_ints_on_the_lattice(dist, seed):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        value = dist.sample(rng)
        assert type(value) is int
        assert dist.low <= value <= dist.high
        assert (value - dist.low) % dist.step == 0
        assert dist.contains(value)


@given(distributions, seeds)
def test_every_sample_is_a_plain_contained_value(dist, seed):
    value = dist.sample(np.random.default_rng(seed))
    assert_plain(value)
    assert dist.contains(value)


@given(distributions)
def test_json_round_trip_is_identity(dist: Distribution):
    data = json.loads(json.dumps(dist.to_json()))
    back = Distribution.from_json(data)
    assert back == dist
    assert back.to_json() == dist.to_json()
    if dist.size is not None and dist.size <= 1000:
        assert [repr(v) for v in back.values() or []] == [repr(v) for v in dist.values() or []]


@given(distributions)
def test_finite_support_matches_size_and_membership(dist: Distribution):
    if dist.size is None:
        assert dist.values() is None
        return
    if dist.size > 2000:
        return
    values = dist.values()
    assert values is not None and len(values) == dist.size
    assert all(dist.contains(v) for v in values)
    for value in values:
        assert_plain(value)


small_dims = st.one_of(
    st.builds(Integer, st.integers(0, 5), st.integers(5, 9), st.integers(1, 3)),
    st.builds(Categorical, st.lists(scalars, min_size=1, max_size=4)),
    st.builds(Fixed, scalars),
    st.builds(Uniform, st.just(0), st.sampled_from([0.5, 1, 1.2]), st.sampled_from([0.25, 0.4])),
)


@given(st.dictionaries(st.text(min_size=1, max_size=5), small_dims, max_size=4))
def test_grid_size_is_the_product_of_supports(dims):
    space = Space(dims)
    points = list(space.grid())
    expected = math.prod(len(d.values() or []) for d in dims.values())
    assert space.size == expected == len(points)
    assert all(list(point) == space.names and space.contains(point) for point in points)
    assert points == list(space.grid())


@given(st.dictionaries(st.text(min_size=1, max_size=5), distributions, max_size=4), seeds)
def test_space_json_round_trip_and_samples(dims, seed):
    space = Space(dims)
    back = Space.from_json(json.loads(json.dumps(space.to_json())))
    assert back == space and back.names == space.names
    point = space.sample(np.random.default_rng(seed))
    assert space.contains(point)
    assert point == back.sample(np.random.default_rng(seed))


@given(
    start=st.integers(-1000, 1000).map(lambda n: n / 100),
    step=st.integers(1, 500).map(lambda n: n / 1000),
    count=st.integers(0, 200),
)
def test_linear_is_end_inclusive(start, step, count):
    end = start + count * step  # float arithmetic: the end carries noise
    values = variant_values("linear", {"start": start, "end": end, "step": step})
    assert len(values) == count + 1
    assert values[0] == start
    assert math.isclose(values[-1], end, rel_tol=1e-9, abs_tol=1e-9)
    # Clean decimals: a value on a 2-decimal start and 3-decimal step has at most 3 decimals.
    assert all(len(repr(v).split(".")[-1]) <= 3 for v in values if "e" not in repr(v))
    down = variant_values("linear", {"start": end, "end": start, "step": -step})
    assert len(down) == count + 1


@given(st.one_of(st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False)))
def test_a_bare_number_parses_as_itself(number):
    assert parse_distribution(repr(number)) == ("single", {"value": number})


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=5))
def test_quoted_categorical_items_stay_strings(items):
    quoted = ", ".join('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    assert parse_distribution(f"categorical({quoted})") == ("multiple", {"items": items})


@pytest.mark.parametrize(
    ("min_exp", "max_exp", "base"), [(-5, -1, 10.0), (0, 10, 2.0), (-2, 3, math.e), (1, 4, 0.5)]
)
def test_loguniform_is_uniform_in_the_exponent(min_exp, max_exp, base):
    dist = LogUniform(min_exp, max_exp, base)
    rng = np.random.default_rng(20240601)
    exponents = np.log([dist.sample(rng) for _ in range(4000)]) / math.log(base)
    result = stats.kstest(exponents, stats.uniform(loc=min_exp, scale=max_exp - min_exp).cdf)
    assert result.pvalue > 0.001
    # And the values themselves are far from uniform (mass piles up near the low end).
    values = np.exp(exponents * math.log(base))
    linear = stats.kstest(values, stats.uniform(loc=dist.low, scale=dist.high - dist.low).cdf)
    assert linear.pvalue < 1e-6


def test_integer_log_scale_is_uniform_in_log():
    dist = Integer(1, 10_000, log=True)
    rng = np.random.default_rng(7)
    samples = np.array([dist.sample(rng) for _ in range(4000)])
    # Each integer n owns [n - 0.5, n + 0.5) on the log scale.
    total = math.log(10_000.5 / 0.5)
    for low, high in [(1, 9), (10, 99), (100, 999), (1000, 9999)]:
        expected = math.log((high + 0.5) / (low - 0.5)) / total
        observed = float(np.mean((samples >= low) & (samples <= high)))
        assert abs(observed - expected) < 0.03, (low, observed, expected)
