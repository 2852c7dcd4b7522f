"""The gradient checks (batchnet/gradient_check.py) on whole networks: they pass on right gradients, catch wrong ones.

A small network (conv -> relu -> maxpool -> flatten -> fc -> softmax
cross-entropy) is checked end to end against finite differences and against
the per-sample reference network, on every backend.
"""

import numpy as np

import batchnet.activations as batched_activations
import batchnet.layers as batched
import batchnet.losses as batched_losses
from batchnet import reference
from batchnet.gradient_check import check_layer, check_network, network_gradients, numerical_network_gradients
from batchnet.network import NeuralNetwork
from layer_checks import DIFFERENCE_ATOL, DIFFERENCE_RTOL, REFERENCE_ATOL, REFERENCE_RTOL, images, standard_normal


def small_network(backend):
    """conv -> relu -> maxpool -> flatten -> fc, softmax cross-entropy, float64, bound to ``backend``."""
    network = NeuralNetwork(backend=backend, dtype="float64")
    network.add(batched.ConvolutionalLayer(3, (3, 2), padding=1, stride=(1, 2), bias_initializer="glorot_uniform"))
    network.add(batched.ActivationLayer(batched_activations.relu, batched_activations.relu_prime))
    network.add(batched.MaxPoolingLayer((2, 2), stride=1))
    network.add(batched.FlattenLayer())
    network.add(batched.FCLayer(4, bias_initializer="glorot_uniform"))
    network.use(batched_losses.softmax_cross_entropy, batched_losses.softmax_cross_entropy_prime)
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
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=DIFFERENCE_RTOL, atol=DIFFERENCE_ATOL,
                                   err_msg=f"network dE/d{name} (analytic vs differences)")


def test_directional_check_of_the_network_passes(backend):
    network = small_network(backend)
    rng = np.random.default_rng(9)
    x = backend.asarray(rng.standard_normal((3, 5, 6, 2)))
    y = backend.asarray(np.eye(4)[[0, 2, 1]])
    errors = check_network(network, x, y, rng=10, method="directional")
    assert max(errors.values()) < 1e-6, errors


def test_directional_check_catches_a_wrong_gradient(backend):
    layer = batched.FCLayer(3)
    layer.bind(backend, np.random.default_rng(11))
    correct_backward = layer.backward

    def backward_one_percent_off(output_error):
        input_error = correct_backward(output_error)
        layer.gradients = {name: 1.01 * value for name, value in layer.gradients.items()}
        return 1.01 * input_error

    layer.backward = backward_one_percent_off
    errors = check_layer(layer, backend.asarray(standard_normal((2, 4), seed=12)), rng=13, method="directional")
    assert min(errors.values()) > 1e-3, errors


def test_network_gradients_are_the_mean_of_per_sample_gradients(backend):
    # conv -> relu -> maxpool -> flatten -> fc, softmax cross-entropy, weights shared
    x = images(3, (6, 5, 2), seed=13)
    y = np.eye(4)[[0, 3, 1]]
    reference_layers = [
        reference.ConvolutionalLayer(3, (3, 2), padding=1, stride=(2, 1), rng=14),
        reference.ActivationLayer(reference.relu, reference.relu_prime),
        reference.MaxPoolingLayer((2, 2), stride=1),
        reference.FlattenLayer(),
        reference.FCLayer(4, rng=15),
    ]
    reference_network = reference.NeuralNetwork().use(
        reference.softmax_cross_entropy, reference.softmax_cross_entropy_prime
    )
    for layer in reference_layers:
        reference_network.add(layer)
    batched_layers = [
        batched.ConvolutionalLayer(3, (3, 2), padding=1, stride=(2, 1)),
        batched.ActivationLayer(batched_activations.relu, batched_activations.relu_prime),
        batched.MaxPoolingLayer((2, 2), stride=1),
        batched.FlattenLayer(),
        batched.FCLayer(4),
    ]
    expected_outputs, expected_errors, expected_gradients = [], [], {}
    for sample, target in zip(x, y):
        output = reference_network.forward(sample)
        expected_outputs.append(output)
        expected_errors.append(reference_network.backward(reference_network.loss_prime(target, output)))
        for index, layer in enumerate(reference_layers):
            for name, gradient in layer.gradients.items():
                key = (index, name)
                expected_gradients[key] = expected_gradients.get(key, 0) + gradient / len(x)
    output = backend.asarray(x)
    for reference_layer, batched_layer in zip(reference_layers, batched_layers):
        batched_layer.bind(backend, np.random.default_rng(0))
        if hasattr(reference_layer, "weights"):
            batched_layer.weights = backend.asarray(reference_layer.weights.copy())
            batched_layer.bias = backend.asarray(reference_layer.bias.copy())
        output = batched_layer.forward_propagation(output)
    np.testing.assert_allclose(backend.to_numpy(output), np.stack(expected_outputs), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
    error = batched_losses.softmax_cross_entropy_prime(backend.asarray(y), output)
    for batched_layer in reversed(batched_layers):
        error = batched_layer.backward(error)
    np.testing.assert_allclose(backend.to_numpy(error), np.stack(expected_errors) / len(x),
                               rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
    for (index, name), expected in expected_gradients.items():
        np.testing.assert_allclose(backend.to_numpy(batched_layers[index].gradients[name]), expected,
                                   rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL, err_msg=f"layer {index} dE/d{name}")
