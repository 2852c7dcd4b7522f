"""batchnet.initializers: each draws what its docstring says, in the dtype asked, from the generator given."""

import math

import numpy as np
import pytest

from batchnet.initializers import INITIALIZERS, get_initializer

FAN_IN, FAN_OUT = 300, 200
SHAPE = (FAN_IN, FAN_OUT)  # 60,000 draws: a sample standard deviation within 1% of the true one
# (bound of the uniform, or None for a normal; standard deviation)
EXPECTED = {
    "tutorial_uniform": (0.5, 1 / math.sqrt(12)),
    "glorot_uniform": (math.sqrt(6 / (FAN_IN + FAN_OUT)), math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "glorot_normal": (None, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "he_uniform": (math.sqrt(6 / FAN_IN), math.sqrt(2 / FAN_IN)),
    "he_normal": (None, math.sqrt(2 / FAN_IN)),
    "uniform_fan_in": (1 / math.sqrt(FAN_IN), 1 / math.sqrt(3 * FAN_IN)),
}


def test_every_registered_initializer_has_its_expectation_here():
    assert set(INITIALIZERS) == set(EXPECTED) | {"zeros"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_draws_have_the_documented_range_and_spread(name, dtype):
    bound, std = EXPECTED[name]
    values = get_initializer(name)(np.random.default_rng(0), SHAPE, FAN_IN, FAN_OUT, dtype)
    assert values.shape == SHAPE and values.dtype == dtype
    assert abs(values.mean()) < 0.02 * std
    assert values.std() == pytest.approx(std, rel=0.01)
    if bound is not None:
        assert -bound <= values.min() and values.max() <= bound
        assert values.max() > 0.99 * bound  # the whole range is used, not a narrower one


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_the_same_generator_state_gives_the_same_weights(name):
    first, second = (get_initializer(name)(np.random.default_rng(3), (4, 5), 4, 5, np.float32) for _ in range(2))
    np.testing.assert_array_equal(first, second)
