"""ActivationLayer (batchnet/layers/activation.py) and relu's backward kernel: reference, differences, errors."""

import numpy as np
import pytest

import batchnet.activations as batched_activations
import batchnet.layers as batched
from batchnet import ActivationLayer, reference, tanh
from layer_checks import assert_layer_gradients_match_differences, assert_same_as_reference, images, standard_normal


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "softmax"])
@pytest.mark.parametrize("batch, features", [(4, 6), (1, 10), (3, 1)])
def test_activation_matches_reference(backend, name, batch, features):
    x = 3 * images(batch, (features,), seed=9)
    reference_layer = reference.ActivationLayer(
        getattr(reference, name), getattr(reference, f"{name}_prime")
    )
    batched_layer = batched.ActivationLayer(
        getattr(batched_activations, name), getattr(batched_activations, f"{name}_prime")
    )
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu"])
def test_elementwise_activation_on_images_matches_reference(backend, name):
    x = images(2, (3, 4, 2), seed=10)
    reference_layer = reference.ActivationLayer(
        getattr(reference, name), getattr(reference, f"{name}_prime")
    )
    batched_layer = batched.ActivationLayer(
        getattr(batched_activations, name), getattr(batched_activations, f"{name}_prime")
    )
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "softmax"])
def test_activation_input_error_matches_finite_differences(backend, name):
    layer = batched.ActivationLayer(getattr(batched_activations, name), getattr(batched_activations, f"{name}_prime"))
    assert_layer_gradients_match_differences(layer, backend, 2 * standard_normal((3, 6), seed=4))


@pytest.mark.parametrize("size", [7, 16_385, 70_001])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_passes_the_error_where_the_input_is_positive(backend, size, dtype):
    rng = np.random.default_rng(size)
    inputs = rng.standard_normal(size).astype(dtype)
    inputs[::97] = np.nan
    inputs[1::89] = 0
    error = rng.standard_normal(size).astype(dtype)
    error[2::101] = np.nan
    expected = np.where(inputs > 0, error, 0).astype(dtype)
    actual = backend.to_numpy(backend.relu_backward(backend.asarray(inputs), backend.asarray(error)))
    assert actual.dtype == dtype
    np.testing.assert_array_equal(actual, expected)


def test_activation_layer_rejects_non_functions():
    with pytest.raises(TypeError, match=r"ActivationLayer: expected two functions \(activation, activation_prime\)"):
        ActivationLayer(tanh, 2)
