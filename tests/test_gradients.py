"""Every batched backward pass matches finite differences (float64), on every backend.

Layers are checked through ``E = sum(output * G)`` for a random ``G``: the
input error and each parameter gradient, entry by entry. Losses are checked
against differences of the loss itself, and a small whole network
(conv -> relu -> maxpool -> flatten -> fc -> softmax cross-entropy) end to end.
"""

import numpy as np
import pytest

import batchnet.activations as activations
import batchnet.layers as layers
import batchnet.losses as losses
from batchnet.gradient_check import (
    check_layer,
    check_network,
    layer_gradients,
    network_gradients,
    numerical_gradient,
    numerical_layer_gradients,
    numerical_network_gradients,
)
from batchnet.network import NeuralNetwork

RTOL = 1e-6
ATOL = 1e-7


def assert_layer_gradients_match_differences(layer, backend, x, seed=0):
    layer.bind(backend, np.random.default_rng(seed))
    x = backend.asarray(x)
    output = layer.forward_propagation(x)
    output_error = backend.asarray(np.random.default_rng(seed + 1).standard_normal(output.shape))
    analytic = layer_gradients(layer, x, output_error)
    numeric = numerical_layer_gradients(layer, x, output_error)
    assert set(analytic) == set(numeric) == {"input", *layer.parameter_names}
    for name in numeric:
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=RTOL, atol=ATOL,
                                   err_msg=f"{layer!r}: dE/d{name} (analytic vs differences)")


def images(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("shape, filters, kernel, padding, stride", [
    ((2, 5, 5, 1), 2, (3, 3), 0, 1),
    ((2, 7, 6, 3), 3, (3, 2), (1, 2), (2, 1)),
    ((1, 6, 7, 2), 2, (2, 3), 1, 2),
    ((2, 5, 5, 2), 2, (3, 3), 2, 3),
    ((1, 4, 5, 2), 2, (4, 5), 0, 1),
])
def test_convolution_gradients_match_finite_differences(backend, shape, filters, kernel, padding, stride):
    layer = layers.ConvolutionalLayer(filters, kernel, padding=padding, stride=stride,
                                      bias_initializer="glorot_uniform")
    assert_layer_gradients_match_differences(layer, backend, images(shape, seed=1))


@pytest.mark.parametrize("kind", ["MaxPoolingLayer", "AveragePoolingLayer"])
@pytest.mark.parametrize("shape, pool, stride, padding", [
    ((2, 4, 4, 2), (2, 2), 2, 0),
    ((2, 5, 5, 2), (3, 3), 1, 1),
    ((1, 7, 6, 3), (3, 2), (2, 1), (1, 1)),
    ((2, 5, 7, 1), (2, 3), 3, (1, 1)),
    ((1, 6, 6, 1), (4, 4), 2, 2),
])
def test_pooling_input_error_matches_finite_differences(backend, kind, shape, pool, stride, padding):
    layer = getattr(layers, kind)(pool, stride=stride, padding=padding)
    assert_layer_gradients_match_differences(layer, backend, images(shape, seed=2))


@pytest.mark.parametrize("shape", [(3, 5), (1, 4), (2, 3, 4, 2)])
def test_fc_gradients_match_finite_differences(backend, shape):
    layer = layers.FCLayer(4, bias_initializer="glorot_uniform")
    assert_layer_gradients_match_differences(layer, backend, images(shape, seed=3))


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "softmax"])
def test_activation_input_error_matches_finite_differences(backend, name):
    layer = layers.ActivationLayer(getattr(activations, name), getattr(activations, f"{name}_prime"))
    assert_layer_gradients_match_differences(layer, backend, 2 * images((3, 6), seed=4))


def test_flatten_input_error_matches_finite_differences(backend):
    assert_layer_gradients_match_differences(layers.FlattenLayer(), backend, images((2, 3, 2, 4), seed=5))


@pytest.mark.parametrize("name", ["mse", "softmax_cross_entropy"])
@pytest.mark.parametrize("batch", [1, 4])
def test_loss_prime_matches_finite_differences(backend, name, batch):
    rng = np.random.default_rng(6)
    y_true = backend.asarray(np.eye(5)[rng.integers(0, 5, batch)])
    y_pred = backend.asarray(2 * rng.standard_normal((batch, 5)))
    loss, loss_prime = getattr(losses, name), getattr(losses, f"{name}_prime")
    numeric = numerical_gradient(lambda: loss(y_true, y_pred), y_pred)
    np.testing.assert_allclose(backend.to_numpy(loss_prime(y_true, y_pred)), numeric,
                               rtol=RTOL, atol=ATOL, err_msg=f"{name}_prime vs differences")


def small_network(backend):
    """conv -> relu -> maxpool -> flatten -> fc, softmax cross-entropy, float64, bound to ``backend``."""
    network = NeuralNetwork(backend=backend, dtype="float64")
    network.add(layers.ConvolutionalLayer(3, (3, 2), padding=1, stride=(1, 2), bias_initializer="glorot_uniform"))
    network.add(layers.ActivationLayer(activations.relu, activations.relu_prime))
    network.add(layers.MaxPoolingLayer((2, 2), stride=1))
    network.add(layers.FlattenLayer())
    network.add(layers.FCLayer(4, bias_initializer="glorot_uniform"))
    network.use(losses.softmax_cross_entropy, losses.softmax_cross_entropy_prime)
    rng = np.random.default_rng(7)
    for layer in network.layers:
        layer.bind(backend, rng)
    return network


def test_network_gradients_match_finite_differences(backend):
    network = small_network(backend)
    rng = np.random.default_rng(8)
    x = backend.asarray(rng.standard_normal((2, 5, 6, 2)))
    y = backend.asarray(np.eye(4)[[1, 3]])
    analytic = network_gradients(network, x, y)
    numeric = numerical_network_gradients(network, x, y)
    assert set(analytic) == set(numeric) == {"input", "0.weights", "0.bias", "4.weights", "4.bias"}
    for name in numeric:
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=RTOL, atol=ATOL,
                                   err_msg=f"network dE/d{name} (analytic vs differences)")


def test_directional_check_of_the_network_passes(backend):
    network = small_network(backend)
    rng = np.random.default_rng(9)
    x = backend.asarray(rng.standard_normal((3, 5, 6, 2)))
    y = backend.asarray(np.eye(4)[[0, 2, 1]])
    errors = check_network(network, x, y, rng=10, method="directional")
    assert max(errors.values()) < 1e-6, errors


def test_directional_check_catches_a_wrong_gradient(backend):
    layer = layers.FCLayer(3)
    layer.bind(backend, np.random.default_rng(11))
    correct_backward = layer.backward

    def backward_one_percent_off(output_error):
        input_error = correct_backward(output_error)
        layer.gradients = {name: 1.01 * value for name, value in layer.gradients.items()}
        return 1.01 * input_error

    layer.backward = backward_one_percent_off
    errors = check_layer(layer, backend.asarray(images((2, 4), seed=12)), rng=13, method="directional")
    assert min(errors.values()) > 1e-3, errors
