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


# -- one-argument primes, as Omar Aflak's activations.py writes tanh_prime(x) ---------------------------

def aflak_tanh(x):
    return np.tanh(x)


def aflak_tanh_prime(x):
    return 1 - np.tanh(x) ** 2


def test_a_one_argument_prime_gives_the_input_error_of_batchnets_two_argument_one():
    x = standard_normal((3, 5), seed=5)
    error = standard_normal((3, 5), seed=6)
    aflak = ActivationLayer(aflak_tanh, aflak_tanh_prime)
    batchnet_form = ActivationLayer(tanh, batched_activations.tanh_prime)
    aflak.forward_propagation(x)
    batchnet_form.forward_propagation(x)
    np.testing.assert_allclose(aflak.backward(error), batchnet_form.backward(error), rtol=1e-12)


def test_a_one_argument_prime_matches_finite_differences(backend):
    layer = ActivationLayer(lambda x: backend.xp.tanh(x), lambda x: 1 - backend.xp.tanh(x) ** 2)
    assert_layer_gradients_match_differences(layer, backend, 2 * standard_normal((3, 6), seed=4))


def test_the_primes_signature_is_read_once_when_the_layer_is_made(monkeypatch):
    import inspect

    layer = ActivationLayer(aflak_tanh, aflak_tanh_prime)

    def no_signature(function):
        raise AssertionError("inspect.signature called after construction")

    monkeypatch.setattr(inspect, "signature", no_signature)
    x = standard_normal((2, 3), seed=1)
    layer.forward_propagation(x)
    layer.backward(np.ones_like(x))


@pytest.mark.parametrize("prime, arguments", [
    (lambda x, output: np.full_like(x, 2), 2),
    (lambda x, output=None: np.full_like(x, 1 if output is None else 2), 2),
    (lambda *arrays: np.full_like(arrays[0], len(arrays)), 2),
    (lambda x: np.full_like(x, 1), 1),
], ids=["(x, output)", "(x, output=None)", "(*arrays)", "(x)"])
def test_a_prime_gets_the_output_whenever_it_can_take_it(prime, arguments):
    layer = ActivationLayer(tanh, prime)
    x = standard_normal((2, 3), seed=1)
    layer.forward_propagation(x)
    # with an error of ones the input error is the prime itself: here, how many arguments it was given
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.full_like(x, arguments))


def test_a_ufunc_of_one_input_is_called_with_the_input_alone():
    layer = ActivationLayer(tanh, np.cos)
    x = standard_normal((2, 3), seed=1)
    layer.forward_propagation(x)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.cos(x))


def test_a_prime_that_takes_neither_form_is_refused_when_the_layer_is_made():
    def prime():
        return 0

    with pytest.raises(TypeError, match=r"ActivationLayer: activation_prime prime must take \(x, output\), as "
                                        r"batchnet's primes do, or \(x\), as Aflak's tanh_prime\(x\) does; "
                                        r"it has signature \(\)"):
        ActivationLayer(tanh, prime)


def test_a_prime_of_three_arguments_not_marked_as_a_vector_jacobian_product_is_told_to_be():
    with pytest.raises(TypeError, match=r"it has signature \(x, output, error\) \(one that takes the output error "
                                        r"too and returns dE/dx must be marked with "
                                        r"batchnet.activations.vector_jacobian_product\)"):
        ActivationLayer(tanh, lambda x, output, error: error)


def test_a_vector_jacobian_product_that_cannot_take_the_error_is_refused():
    prime = batched_activations.vector_jacobian_product(lambda x, output: output)
    with pytest.raises(TypeError, match=r"must take \(x, output, output_error\), as it is marked "
                                        r"vector_jacobian_product; it has signature \(x, output\)"):
        ActivationLayer(tanh, prime)
