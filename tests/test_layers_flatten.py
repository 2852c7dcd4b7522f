"""FlattenLayer (batchnet/layers/flatten.py): reference and finite differences."""

import pytest

import batchnet.layers as batched
from batchnet import reference
from layer_checks import assert_layer_gradients_match_differences, assert_same_as_reference, images, standard_normal


@pytest.mark.parametrize("shape", [(3, 4, 2), (5,)])
def test_flatten_matches_reference(backend, shape):
    x = images(3, shape, seed=11)
    assert_same_as_reference(reference.FlattenLayer(), batched.FlattenLayer(), backend, x)


def test_flatten_input_error_matches_finite_differences(backend):
    assert_layer_gradients_match_differences(batched.FlattenLayer(), backend, standard_normal((2, 3, 2, 4), seed=5))
