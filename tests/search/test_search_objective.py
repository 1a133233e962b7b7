"""objective_value: what a Bayesian task minimises for an execution's metric."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hyperstep.errors import ValidationError
from hyperstep.search import objective_value


def test_minimises_the_metric_by_default() -> None:
    assert objective_value(0.25) == 0.25
    assert objective_value(3) == 3.0
    assert objective_value(0.25, direction="minimize") == 0.25


def test_maximise_negates() -> None:
    assert objective_value(0.9, direction="maximize") == -0.9
    assert objective_value(0.9, direction="MAXIMIZE") == -0.9


@pytest.mark.parametrize(
    ("metric", "target", "expected"),
    [(0.9, 1.0, 0.1), (1.2, 1.0, 0.2), (7.2, 7.2, 0.0), (-3, 2, 5.0)],
)
def test_target_is_the_distance_to_it(metric: float, target: float, expected: float) -> None:
    assert objective_value(metric, target=target) == pytest.approx(expected)


def test_target_wins_over_direction() -> None:
    # Valohai's target value means "as close as possible", whatever the direction.
    assert objective_value(0.5, target=1.0, direction="maximize") == pytest.approx(0.5)


@pytest.mark.parametrize("metric", [None, float("nan"), "0.5", True, [1.0], {"a": 1}])
def test_no_usable_metric_gives_none(metric: object) -> None:
    assert objective_value(metric) is None
    assert objective_value(metric, target=1.0) is None


def test_numpy_numbers_are_numbers() -> None:
    assert objective_value(np.float32(0.5)) == 0.5
    assert objective_value(np.int64(4), direction="maximize") == -4.0
    assert objective_value(np.float64("nan")) is None


def test_infinity_is_a_value_not_a_failure() -> None:
    assert objective_value(math.inf) == math.inf
    assert objective_value(math.inf, direction="maximize") == -math.inf


def test_unknown_direction_names_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        objective_value(1.0, direction="up")
    assert info.value.field == "direction"
    assert "'up'" in str(info.value)


@pytest.mark.parametrize("target", [float("nan"), float("inf"), "1.0"])
def test_invalid_target_names_the_field(target: object) -> None:
    with pytest.raises(ValidationError) as info:
        objective_value(1.0, target=target)  # type: ignore[arg-type]
    assert info.value.field == "optimization_target_value"
