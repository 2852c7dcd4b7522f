"""FCLayer (batchnet/layers/dense.py): reference, finite differences, errors."""

import numpy as np
import pytest

import batchnet.layers as batched
from batchnet import FCLayer, reference
from layer_checks import assert_layer_gradients_match_differences, assert_same_as_reference, copy_parameters, images, standard_normal


@pytest.mark.parametrize("batch, shape, output_size", [
    (4, (5,), 3), (1, (7,), 2), (3, (1,), 4), (2, (3, 4, 2), 5),
])
def test_fc_matches_reference(backend, batch, shape, output_size):
    x = images(batch, shape, seed=7)
    reference_layer = reference.FCLayer(output_size, rng=8)
    batched_layer = batched.FCLayer(output_size)
    copy_parameters(reference_layer, batched_layer, backend, x[0])
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


@pytest.mark.parametrize("shape", [(3, 5), (1, 4), (2, 3, 4, 2)])
def test_fc_gradients_match_finite_differences(backend, shape):
    layer = batched.FCLayer(4, bias_initializer="glorot_uniform")
    assert_layer_gradients_match_differences(layer, backend, standard_normal(shape, seed=3))


def test_dense_layer_rejects_a_different_feature_count_after_initialisation():
    layer = FCLayer(2)
    layer.forward_propagation(np.zeros((1, 6), np.float32))
    with pytest.raises(ValueError, match=r"FCLayer: expected 6 input features, got input of shape \(1, 5\)"):
        layer.forward_propagation(np.zeros((1, 5), np.float32))


@pytest.mark.parametrize("output_size", [0, -3, "10", True])
def test_dense_layer_rejects_an_output_size_that_is_not_a_positive_int(output_size):
    with pytest.raises(ValueError, match=rf"FCLayer: output_size must be a positive int, got {output_size!r}"):
        FCLayer(output_size)
