"""batchnet.reference.comparison, the engine of ``batchnet check``, against direct definitions."""

import numpy as np
import pytest

from backends import get_backend
from batchnet import layers, reference
from batchnet.reference.comparison import (
    compare_with_reference,
    largest_difference,
    reference_cases,
    run_batched,
    run_reference,
)


def test_run_reference_stacks_per_sample_results_and_sums_the_gradients():
    # dense layer y = x W + b: per sample dE/dW = x^T g, so over the batch the sum is X^T G
    rng = np.random.default_rng(0)
    inputs, output_errors = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    layer = reference.FCLayer(2, rng=1)
    layer.initialize(inputs[0])
    results = run_reference(layer, inputs, output_errors)
    np.testing.assert_allclose(results.outputs, inputs @ layer.weights + layer.bias, rtol=1e-12)
    np.testing.assert_allclose(results.input_errors, output_errors @ layer.weights.T, rtol=1e-12)
    np.testing.assert_allclose(results.gradients["weights"], inputs.T @ output_errors, rtol=1e-12)
    np.testing.assert_allclose(np.ravel(results.gradients["bias"]), output_errors.sum(axis=0), rtol=1e-12)


def test_run_batched_returns_numpy_arrays_of_the_whole_batch():
    rng = np.random.default_rng(2)
    inputs, output_errors = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    layer = layers.FCLayer(2, dtype="float64")
    layer.weights, layer.bias = rng.standard_normal((4, 2)), rng.standard_normal(2)
    results = run_batched(layer, get_backend("numpy"), inputs, output_errors)
    assert all(type(array) is np.ndarray for array in (results.outputs, results.input_errors))
    np.testing.assert_allclose(results.outputs, inputs @ layer.weights + layer.bias, rtol=1e-12)
    np.testing.assert_allclose(results.gradients["weights"], inputs.T @ output_errors, rtol=1e-12)


def test_largest_difference_is_the_largest_absolute_difference_or_inf_for_other_shapes():
    assert largest_difference([1.0, 2.0, 3.0], [1.0, 2.5, 2.0]) == 1.0
    assert largest_difference(np.zeros((2, 3)), np.zeros((3, 2))) == float("inf")


def test_a_wrong_parameter_gradient_is_measured():
    batched = layers.FCLayer(3)
    original_backward = type(batched).backward

    def backward_with_a_wrong_bias_gradient(self, output_error, **keywords):
        input_error = original_backward(self, output_error, **keywords)
        self.gradients["bias"] = self.gradients["bias"] + 0.5
        return input_error

    batched.backward = backward_with_a_wrong_bias_gradient.__get__(batched)
    difference = compare_with_reference(batched, reference.FCLayer(3), (5,), get_backend("numpy"), "float64",
                                        np.random.default_rng(0))
    assert difference == pytest.approx(0.5)


def test_every_layer_family_has_a_case():
    described = " ".join(description for description, *_ in reference_cases())
    for layer in ("FCLayer", "FlattenLayer", "ActivationLayer", "ConvolutionalLayer", "MaxPoolingLayer",
                  "AveragePoolingLayer"):
        assert layer in described
