"""One seed, one result: the seed fixes the initial weights and the batch order on the CPU."""

import numpy as np
import pytest

from batchnet import (
    ActivationLayer,
    ConvolutionalLayer,
    FCLayer,
    FlattenLayer,
    MaxPoolingLayer,
    NeuralNetwork,
    mse,
    mse_prime,
    one_hot,
    set_seed,
    tanh,
    tanh_prime,
)


def training_data():
    rng = np.random.default_rng(2024)
    return rng.random((40, 8, 8, 1)).astype(np.float32), one_hot(rng.integers(0, 3, 40), 3)


def trained_parameters(**fit_keywords):
    """Build the network from scratch, train it, and return every parameter and the loss history."""
    x, y = training_data()
    net = (NeuralNetwork()
           .add(ConvolutionalLayer(filters_count=4, filter_shape=(3, 3), padding=(1, 1), stride=1))
           .add(ActivationLayer(tanh, tanh_prime))
           .add(MaxPoolingLayer(pool_shape=(2, 2)))
           .add(FlattenLayer())
           .add(FCLayer(3))
           .use(mse, mse_prime)
           .fit(x, y, epochs=3, learning_rate=0.1, batch_size=8, verbose=0, **fit_keywords))
    parameters = [array.copy() for layer in net.layers for array in layer.parameters().values()]
    return parameters, net.history.history["loss"]


def assert_bit_identical(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
def test_the_same_seed_gives_bit_identical_weights_and_losses(shuffle):
    first, first_losses = trained_parameters(seed=7, shuffle=shuffle)
    second, second_losses = trained_parameters(seed=7, shuffle=shuffle)
    assert_bit_identical(first, second)
    assert first_losses == second_losses


def test_different_seeds_give_different_weights():
    first, _ = trained_parameters(seed=7)
    second, _ = trained_parameters(seed=8)
    assert not any(np.array_equal(a, b) for a, b in zip(first, second) if a.ndim > 1)


def test_shuffling_changes_the_result_so_the_shuffled_check_is_not_vacuous():
    # same seed, same initial weights: only the batch order differs
    shuffled, _ = trained_parameters(seed=7, shuffle=True)
    in_order, _ = trained_parameters(seed=7, shuffle=False)
    assert not np.array_equal(shuffled[0], in_order[0])



def test_set_seed_makes_unseeded_training_repeatable():
    try:
        set_seed(3)
        first, _ = trained_parameters()
        set_seed(3)
        second, _ = trained_parameters()
        third, _ = trained_parameters()
    finally:
        set_seed(None)
    assert_bit_identical(first, second)
    assert not any(np.array_equal(a, b) for a, b in zip(first, third) if a.ndim > 1)
