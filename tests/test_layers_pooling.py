"""Max and average pooling (batchnet/layers/pooling.py): reference, ties, finite differences, errors."""

import numpy as np
import pytest

import batchnet.layers as batched
from batchnet import MaxPoolingLayer, reference
from layer_checks import (
    ALL_POOL_CASES,
    assert_layer_gradients_match_differences,
    assert_same_as_reference,
    case_id,
    images,
    standard_normal,
)


@pytest.mark.parametrize("case", ALL_POOL_CASES, ids=case_id)
@pytest.mark.parametrize("kind", ["MaxPoolingLayer", "AveragePoolingLayer"])
def test_pooling_matches_reference(backend, kind, case):
    batch, shape, pool, stride, padding = case
    x = images(batch, shape, seed=5)
    reference_layer = getattr(reference, kind)(pool, stride=stride, padding=padding)
    batched_layer = getattr(batched, kind)(pool, stride=stride, padding=padding)
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


@pytest.mark.parametrize("pool, stride, padding", [((2, 2), 2, 0), ((3, 3), 1, 1), ((2, 3), (1, 2), (1, 1))])
def test_max_pooling_ties_go_to_the_first_maximum_like_the_reference(backend, pool, stride, padding):
    # values on a coarse grid make ties in most windows, some of them across overlapping windows
    x = np.random.default_rng(6).integers(-1, 2, (2, 5, 6, 2)).astype(np.float64)
    reference_layer = reference.MaxPoolingLayer(pool, stride=stride, padding=padding)
    batched_layer = batched.MaxPoolingLayer(pool, stride=stride, padding=padding)
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


def test_max_pooling_of_all_negative_input_with_padding_matches_reference(backend):
    x = np.full((2, 4, 4, 1), -0.5)
    reference_layer = reference.MaxPoolingLayer((3, 3), stride=1, padding=1)
    batched_layer = batched.MaxPoolingLayer((3, 3), stride=1, padding=1)
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


@pytest.mark.parametrize("kind", ["MaxPoolingLayer", "AveragePoolingLayer"])
@pytest.mark.parametrize("shape, pool, stride, padding", [
    ((2, 4, 4, 2), (2, 2), 2, 0),
    ((2, 5, 5, 2), (3, 3), 1, 1),
    ((1, 7, 6, 3), (3, 2), (2, 1), (1, 1)),
    ((2, 5, 7, 1), (2, 3), 3, (1, 1)),
    ((1, 6, 6, 1), (4, 4), 2, 2),
])
def test_pooling_input_error_matches_finite_differences(backend, kind, shape, pool, stride, padding):
    layer = getattr(batched, kind)(pool, stride=stride, padding=padding)
    assert_layer_gradients_match_differences(layer, backend, standard_normal(shape, seed=2))


def test_pooling_layer_rejects_a_batch_without_channel_axis():
    with pytest.raises(ValueError, match=r"MaxPoolingLayer: expected input \(N, H, W, C\), got shape \(4, 6, 6\)"):
        MaxPoolingLayer().forward_propagation(np.zeros((4, 6, 6), np.float32))


@pytest.mark.parametrize("pool_shape, padding", [((2, 2), 2), ((3, 3), (2, 1)), ((2, 4), (0, 3))])
def test_pooling_padding_larger_than_half_the_pool_is_rejected(pool_shape, padding):
    with pytest.raises(ValueError, match=r"MaxPoolingLayer: padding must be at most \(\d, \d\), half the pool_shape \(\d, \d\), got"):
        MaxPoolingLayer(pool_shape, stride=1, padding=padding)


def test_pooling_rejects_an_empty_pool():
    with pytest.raises(ValueError, match=r"MaxPoolingLayer: pool_shape must be at least 1x1, got \(0, 2\)"):
        MaxPoolingLayer((0, 2))
