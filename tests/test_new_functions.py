"""leaky_relu, softplus, binary and categorical cross-entropy: against the loop reference,
finite differences and their definitions; stability, dtypes and the registries."""

import functools

import numpy as np
import pytest

from batchnet import activations, losses
from batchnet.reference import activations as reference_activations
from batchnet.reference import losses as reference_losses


def _values(seed, shape=(6, 5), scale=3.0, dtype=np.float64):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def _central_difference(function, x, epsilon=1e-6):
    """Element-wise derivative of an element-wise function, by central differences."""
    return (function(x + epsilon) - function(x - epsilon)) / (2 * epsilon)


ELEMENTWISE = ["leaky_relu", "softplus"]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_and_derivative_equal_the_reference(name):
    x = _values(0)
    function, prime = activations.ACTIVATIONS[name]
    reference, reference_prime = reference_activations.ACTIVATIONS[name]
    output = function(x)
    for sample in range(len(x)):
        np.testing.assert_allclose(output[sample], reference(x[sample]), rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(prime(x, output)[sample], reference_prime(x[sample], output[sample]),
                                   rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_the_derivative_equals_finite_differences(name):
    x = _values(1)
    x = x[np.abs(x) > 1e-3].reshape(-1)  # away from leaky_relu's kink
    function, prime = activations.ACTIVATIONS[name]
    np.testing.assert_allclose(prime(x, function(x)), _central_difference(function, x), rtol=1e-7, atol=1e-9)


def test_leaky_relu_is_its_definition_for_any_slope():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(activations.leaky_relu(x), [-0.02, -0.005, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(activations.leaky_relu(x, slope=0.2), [-0.4, -0.1, 0.0, 0.5, 2.0])
    output = activations.leaky_relu(x, slope=0.2)
    np.testing.assert_array_equal(activations.leaky_relu_prime(x, output, slope=0.2), [0.2, 0.2, 0.2, 1, 1])
    slope_two = functools.partial(activations.leaky_relu, slope=2.0)
    np.testing.assert_array_equal(slope_two(x), [-4.0, -1.0, 0.0, 0.5, 2.0])


def test_softplus_is_stable_at_the_extremes():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        output = activations.softplus(x)
        derivative = activations.softplus_prime(x, output)
    np.testing.assert_allclose(output, [0.0, np.exp(-50.0), np.log(2.0), 50.0, 1000.0], rtol=1e-15, atol=0)
    # sigmoid(-50) = e^-50 to relative precision, where 1 / (1 + e^50) would be fine but 1 - sigmoid(50) is 0
    np.testing.assert_allclose(derivative, [0.0, np.exp(-50.0), 0.5, 1.0, 1.0], rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_float32_activations_stay_float32(name):
    x = _values(2, dtype=np.float32)
    function, prime = activations.ACTIVATIONS[name]
    output = function(x)
    assert output.dtype == np.float32 and prime(x, output).dtype == np.float32


def _binary_targets(seed, shape):
    return np.random.default_rng(seed).random(shape).round()


def test_binary_cross_entropy_is_the_mean_of_the_per_sample_reference():
    logits, targets = _values(3, (8, 3)), _binary_targets(4, (8, 3))
    per_sample = [reference_losses.binary_cross_entropy(targets[i], logits[i]) for i in range(8)]
    np.testing.assert_allclose(losses.binary_cross_entropy(targets, logits), np.mean(per_sample), rtol=1e-14)
    gradient = losses.binary_cross_entropy_prime(targets, logits)
    for i in range(8):
        np.testing.assert_allclose(gradient[i], reference_losses.binary_cross_entropy_prime(targets[i], logits[i]) / 8,
                                   rtol=1e-13, atol=1e-16)


def test_binary_cross_entropy_is_its_definition_on_sigmoid_probabilities():
    logits, targets = _values(5, (10, 1), scale=2.0), np.random.default_rng(6).random((10, 1))
    probabilities = 1 / (1 + np.exp(-logits))
    expected = np.mean(-targets * np.log(probabilities) - (1 - targets) * np.log(1 - probabilities))
    np.testing.assert_allclose(losses.binary_cross_entropy(targets, logits), expected, rtol=1e-13)


def _loss_finite_differences(loss, targets, inputs, epsilon=1e-6):
    gradient = np.zeros_like(inputs)
    for index in np.ndindex(inputs.shape):
        moved = inputs.copy()
        moved[index] += epsilon
        above = loss(targets, moved)
        moved[index] -= 2 * epsilon
        gradient[index] = (above - loss(targets, moved)) / (2 * epsilon)
    return gradient


def test_binary_cross_entropy_gradient_equals_finite_differences():
    logits, targets = _values(7, (5, 2)), np.random.default_rng(8).random((5, 2))
    numeric = _loss_finite_differences(losses.binary_cross_entropy, targets, logits)
    np.testing.assert_allclose(losses.binary_cross_entropy_prime(targets, logits), numeric, rtol=1e-7, atol=1e-10)


def test_binary_cross_entropy_stays_finite_for_huge_logits():
    logits = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0]])
    targets = np.array([[1.0], [0.0], [0.0], [1.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = losses.binary_cross_entropy(targets, logits)
        gradient = losses.binary_cross_entropy_prime(targets, logits)
    np.testing.assert_allclose(loss, (0 + 0 + 1000 + 1000) / 4, rtol=1e-15)
    np.testing.assert_allclose(gradient, [[0.0], [0.0], [0.25], [-0.25]], rtol=1e-15, atol=0)


def _probabilities(seed, shape):
    logits = _values(seed, shape)
    exps = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)


def test_categorical_cross_entropy_is_the_mean_of_the_per_sample_reference():
    probabilities, targets = _probabilities(9, (7, 4)), np.eye(4)[[0, 1, 2, 3, 0, 1, 2]]
    per_sample = [reference_losses.categorical_cross_entropy(targets[i], probabilities[i]) for i in range(7)]
    np.testing.assert_allclose(losses.categorical_cross_entropy(targets, probabilities), np.mean(per_sample),
                               rtol=1e-14)
    expected = -np.mean(np.log(probabilities[np.arange(7), targets.argmax(axis=1)]))
    np.testing.assert_allclose(losses.categorical_cross_entropy(targets, probabilities), expected, rtol=1e-14)
    gradient = losses.categorical_cross_entropy_prime(targets, probabilities)
    for i in range(7):
        np.testing.assert_allclose(
            gradient[i], reference_losses.categorical_cross_entropy_prime(targets[i], probabilities[i]) / 7,
            rtol=1e-14, atol=0)


def test_categorical_cross_entropy_gradient_equals_finite_differences():
    probabilities, targets = _probabilities(10, (4, 3)), np.eye(3)[[0, 2, 1, 1]]
    numeric = _loss_finite_differences(losses.categorical_cross_entropy, targets, probabilities)
    np.testing.assert_allclose(losses.categorical_cross_entropy_prime(targets, probabilities), numeric,
                               rtol=1e-7, atol=1e-9)


def test_categorical_cross_entropy_clips_probabilities_to_epsilon():
    probabilities = np.array([[0.0, 1.0], [1.0, 0.0]])
    targets = np.array([[1.0, 0.0], [1.0, 0.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = losses.categorical_cross_entropy(targets, probabilities)
        gradient = losses.categorical_cross_entropy_prime(targets, probabilities)
    epsilon = losses.CATEGORICAL_EPSILON
    np.testing.assert_allclose(loss, (-np.log(epsilon) - np.log(1 - epsilon)) / 2, rtol=1e-14)
    np.testing.assert_array_equal(gradient, np.zeros((2, 2)))  # every entry was clipped: the loss is flat there


@pytest.mark.parametrize("name", ["binary_cross_entropy", "categorical_cross_entropy"])
def test_float32_losses_stay_float32(name):
    loss, prime = losses.LOSSES[name]
    outputs, targets = _probabilities(11, (4, 3)).astype(np.float32), np.eye(3)[[0, 1, 2, 0]]
    assert loss(targets, outputs).dtype == np.float32
    assert prime(targets, outputs).dtype == np.float32


@pytest.mark.parametrize("name", ["binary_cross_entropy", "categorical_cross_entropy"])
def test_targets_of_another_shape_are_refused_naming_the_loss(name):
    loss, prime = losses.LOSSES[name]
    for function in (loss, prime):
        with pytest.raises(ValueError, match=rf"{function.__name__}: expected targets of shape \(4, 3\)"):
            function(np.zeros((4, 2)), np.full((4, 3), 0.5))


def test_the_new_functions_are_registered_for_the_model_file():
    assert activations.ACTIVATIONS["leaky_relu"] == (activations.leaky_relu, activations.leaky_relu_prime)
    assert activations.ACTIVATIONS["softplus"] == (activations.softplus, activations.softplus_prime)
    assert losses.LOSSES["binary_cross_entropy"] == (losses.binary_cross_entropy, losses.binary_cross_entropy_prime)
    assert losses.LOSSES["categorical_cross_entropy"] == (
        losses.categorical_cross_entropy, losses.categorical_cross_entropy_prime)
    assert activations.ACTIVATIONS["sigmoid"] == (activations.sigmoid, activations.sigmoid_prime)


def test_a_network_with_them_saves_and_loads(tmp_path):
    from batchnet.layers import ActivationLayer, FCLayer
    from batchnet.network import NeuralNetwork
    from batchnet.saving.model_file import load_model, save_model

    network = NeuralNetwork(dtype="float64")
    network.add(FCLayer(5)).add(ActivationLayer(activations.leaky_relu, activations.leaky_relu_prime))
    network.add(FCLayer(4)).add(ActivationLayer(activations.softplus, activations.softplus_prime)).add(FCLayer(1))
    network.use(losses.binary_cross_entropy, losses.binary_cross_entropy_prime)
    x, y = _values(12, (16, 3)), _binary_targets(13, (16, 1))
    network.fit(x, y, epochs=2, learning_rate=0.1, seed=0, verbose=0)
    save_model(network, tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))
    assert loaded.loss is losses.binary_cross_entropy
