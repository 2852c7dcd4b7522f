"""The optimizers (batchnet.optimizers): each first step against its formula, state kept per layer, bad settings."""

import math

import numpy as np
import pytest

from batchnet import (
    SGD,
    ActivationLayer,
    Adam,
    FCLayer,
    FlattenLayer,
    NeuralNetwork,
    mse,
    mse_prime,
    one_hot,
    relu,
    relu_prime,
    tanh,
    tanh_prime,
)


def two_blobs(samples=64, seed=0):
    """A linearly separable two-class problem in 2-D, labels one-hot."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, 2, samples)
    centres = np.where(classes[:, None] == 1, 1.5, -1.5)
    points = centres + rng.standard_normal((samples, 2)) * 0.5
    return points.astype(np.float32), one_hot(classes, 2)


def tanh_net():
    return (NeuralNetwork()
            .add(FCLayer(8)).add(ActivationLayer(tanh, tanh_prime))
            .add(FCLayer(2)).add(ActivationLayer(tanh, tanh_prime))
            .use(mse, mse_prime))


def dense_net():
    return NeuralNetwork().add(FlattenLayer()).add(FCLayer(3)).use(mse, mse_prime)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((4, 6, 6, 1)).astype(np.float32)


@pytest.fixture
def labels():
    return one_hot(np.array([0, 1, 2, 1]), 3)


@pytest.mark.parametrize(
    "optimizer",
    [SGD(0.05, momentum=0.9), SGD(0.05, momentum=0.9, nesterov=True), Adam(0.01)],
    ids=["momentum", "nesterov", "adam"],
)
def test_optimizers_reduce_the_loss(optimizer):
    x, y = two_blobs()
    net = (NeuralNetwork().add(FCLayer(8)).add(ActivationLayer(relu, relu_prime)).add(FCLayer(2))
           .use(mse, mse_prime)
           .fit(x, y, epochs=10, batch_size=8, seed=0, optimizer=optimizer, verbose=0))
    losses = net.history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]


def linear_gradient(x, y, weights, bias):
    """dE/dW, dE/db of mse(y, x W + b) = mean((x W + b - y)^2), computed by hand."""
    error = 2 * (x @ weights + bias - y) / y.size
    return x.T @ error, error.sum(axis=0)


def one_step(optimizer):
    """Train a linear layer for exactly one step from known weights; return (before, gradient, after)."""
    x, y = two_blobs(samples=6)
    x, y = x.astype(np.float64), y.astype(np.float64)
    layer = FCLayer(2)
    layer.weights = np.array([[0.3, -0.2], [0.1, 0.4]])
    layer.bias = np.array([0.05, -0.05])
    before = layer.weights.copy()
    gradient, _ = linear_gradient(x, y, before, layer.bias)
    (NeuralNetwork(dtype="float64").add(layer).use(mse, mse_prime)
     .fit(x, y, epochs=1, learning_rate=0.1, batch_size=6, shuffle=False, optimizer=optimizer, verbose=0))
    return before, gradient, layer.weights


def test_plain_sgd_step_is_the_tutorials_update():
    before, gradient, after = one_step(None)
    np.testing.assert_allclose(after, before - 0.1 * gradient, rtol=1e-12)


def test_momentum_first_step_is_a_plain_step():
    before, gradient, after = one_step(SGD(0.1, momentum=0.9))
    np.testing.assert_allclose(after, before - 0.1 * gradient, rtol=1e-12)


def test_nesterov_first_step_looks_ahead_by_the_momentum():
    # v = -lr g; p += momentum v - lr g
    before, gradient, after = one_step(SGD(0.1, momentum=0.9, nesterov=True))
    np.testing.assert_allclose(after, before - 0.1 * (1 + 0.9) * gradient, rtol=1e-12)


def test_adam_first_step_matches_the_formula():
    before, gradient, after = one_step(Adam(0.1, beta1=0.9, beta2=0.999, epsilon=1e-8))
    m, v = 0.1 * gradient, 0.001 * gradient**2
    step = 0.1 * math.sqrt(1 - 0.999) / (1 - 0.9)
    np.testing.assert_allclose(after, before - step * m / (np.sqrt(v) + 1e-8), rtol=1e-12, atol=1e-15)


class BareLayer:
    """Just parameters and gradients (optimizers key their state by the layer object)."""

    def __init__(self, **arrays):
        self.__dict__.update(arrays)


def test_momentum_accumulates_the_velocity_over_steps():
    parameter = np.array([1.0])
    layer = BareLayer(weights=parameter, gradients={"weights": np.array([2.0])})
    optimizer = SGD(0.1, momentum=0.5)
    optimizer.step([layer])
    optimizer.step([layer])
    # v1 = -0.2, p1 = 0.8; v2 = 0.5 * -0.2 - 0.2 = -0.3, p2 = 0.5
    np.testing.assert_allclose(parameter, [0.5], rtol=1e-12)


def test_an_optimizer_used_again_starts_afresh_on_a_new_network():
    x, y = two_blobs()
    adam = Adam(0.01)
    first = tanh_net().fit(x, y, epochs=1, batch_size=64, optimizer=adam, verbose=0)
    second = tanh_net().fit(x, y, epochs=1, batch_size=64, optimizer=adam, verbose=0)
    # one step on the second network: its moments are its own, not the first network's
    assert all(state["t"] == 1 for layer in second.layers for state in adam.state.get(layer, {}).values())
    assert len(adam.state) == 4
    del first
    assert len(adam.state) == 2  # the state of a network that is gone goes with it


def test_an_optimizer_refuses_state_that_no_longer_fits_the_parameter():
    x, y = two_blobs()
    adam = Adam(0.01)
    net = tanh_net().fit(x, y, epochs=1, optimizer=adam, verbose=0)
    for layer in net.layers:
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    with pytest.raises(ValueError, match=r"FCLayer.weights: the optimizer holds m of shape \(2, 8\) for a "
                                         r"parameter now of shape \(3, 8\); use a new optimizer"):
        net.fit(np.hstack([x, x[:, :1]]), y, epochs=1, optimizer=adam, verbose=0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: __import__("batchnet").Adam(0.01, epsilon=-1.0), "Adam: epsilon must be positive"),
        (lambda: __import__("batchnet").Adam(0.01, epsilon=0.0), "Adam: epsilon must be positive"),
        (lambda: __import__("batchnet").SGD(0.1, momentum=None), "SGD: momentum must be a finite number, got None"),
        (lambda: __import__("batchnet").SGD(0.1, weight_decay=float("nan")),
         "SGD: weight_decay must be a finite number, got nan"),
    ],
)
def test_optimizers_refuse_bad_settings(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_learning_rate_beside_an_optimizer_with_its_own_is_refused(images, labels):
    from batchnet import SGD

    with pytest.raises(ValueError, match=r"learning_rate=0.5 beside optimizer=SGD\(learning_rate=0.01\), "
                                         "which has its own: give one or the other"):
        dense_net().fit(images, labels, epochs=1, learning_rate=0.5, optimizer=SGD(0.01), verbose=0)
