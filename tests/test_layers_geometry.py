"""Window arguments (batchnet/layers/geometry.py) as the layers take them: ints or pairs, checked."""

import re

import numpy as np
import pytest

from batchnet import AveragePoolingLayer, ConvolutionalLayer, MaxPoolingLayer
from batchnet.layers.geometry import pair, window_arguments, window_output_shape


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ConvolutionalLayer(2, (3, 3), stride=0), "ConvolutionalLayer: stride must be at least 1, got 0"),
        (lambda: ConvolutionalLayer(2, (3, 3), stride=(1, 0)), r"ConvolutionalLayer: stride must be at least 1, got \(1, 0\)"),
        (lambda: MaxPoolingLayer((2, 2), stride=0), "MaxPoolingLayer: stride must be at least 1, got 0"),
        (lambda: AveragePoolingLayer((2, 2), stride=(0, 2)), r"AveragePoolingLayer: stride must be at least 1, got \(0, 2\)"),
        (lambda: ConvolutionalLayer(2, (3, 3), stride=-1), "ConvolutionalLayer: stride must be at least 1, got -1"),
        (lambda: MaxPoolingLayer((2, -2)), r"MaxPoolingLayer: pool_shape must be at least 1x1, got \(2, -2\)"),
    ],
    ids=["conv", "conv-pair", "max-pool", "avg-pool-pair", "conv-negative", "max-pool-negative-shape"],
)
def test_stride_zero_is_rejected_by_the_constructor(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "layer, input_shape, message",
    [
        (ConvolutionalLayer(2, (9, 9), padding=1), (1, 6, 6, 1),
         r"ConvolutionalLayer: kernel 9x9 is larger than the padded input 8x8 \(input 6x6, padding \(1, 1\)\)"),
        (ConvolutionalLayer(2, (3, 7)), (1, 6, 6, 1),
         r"ConvolutionalLayer: kernel 3x7 is larger than the padded input 6x6"),
        (MaxPoolingLayer((5, 5)), (1, 4, 4, 1),
         r"MaxPoolingLayer: kernel 5x5 is larger than the padded input 4x4"),
    ],
    ids=["conv-padded", "conv-non-square", "max-pool"],
)
def test_a_window_larger_than_the_padded_input_is_rejected(layer, input_shape, message):
    with pytest.raises(ValueError, match=message):
        layer.forward_propagation(np.zeros(input_shape, np.float32))


@pytest.mark.parametrize("value, expected", [(3, (3, 3)), ((1, 2), (1, 2)), ([0, 4], (0, 4))])
def test_pair_reads_an_int_or_a_pair_of_ints(value, expected):
    assert pair(value, "padding") == expected


@pytest.mark.parametrize("value", [True, (1, True), (1, 2, 3), 1.0, "2"])
def test_pair_refuses_what_is_not_an_int_or_a_pair_of_ints(value):
    with pytest.raises(TypeError, match=rf"padding: expected an int or a pair of ints, got {re.escape(repr(value))}"):
        pair(value, "padding")


def test_pooling_padding_of_exactly_half_the_pool_is_taken():
    assert window_arguments("MaxPoolingLayer", (3, 4), 1, (1, 2), "pool_shape", padding_at_most_half=True) == (
        (3, 4), (1, 1), (1, 2))
    with pytest.raises(ValueError, match=r"padding must be at most \(1, 2\), half the pool_shape \(3, 4\), got \(1, 3\)"):
        window_arguments("MaxPoolingLayer", (3, 4), 1, (1, 3), "pool_shape", padding_at_most_half=True)


def test_window_output_shape_is_the_floor_mode_size_and_names_the_layer():
    # (7 + 2*1 - 3) // 2 + 1 = 4 rows, (6 + 0 - 2) // 1 + 1 = 5 columns
    assert window_output_shape("ConvolutionalLayer", (2, 7, 6, 3), (3, 2), (2, 1), (1, 0)) == (4, 5)
    with pytest.raises(ValueError, match=r"^AveragePoolingLayer: kernel 4x4 is larger than the padded input 3x3"):
        window_output_shape("AveragePoolingLayer", (1, 3, 3, 1), (4, 4), (1, 1), (0, 0))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ConvolutionalLayer(2, 3, stride=2**63),
         r"ConvolutionalLayer: stride must be at most 2147483647 \(2\*\*31 - 1, .*\), got 9223372036854775808"),
        (lambda: ConvolutionalLayer(2, 3, stride=(1, 2**31)), r"ConvolutionalLayer: stride must be at most 2147483647"),
        (lambda: ConvolutionalLayer(2, (2**40, 3)), r"ConvolutionalLayer: filter_shape must be at most 2147483647"),
        (lambda: ConvolutionalLayer(2, 3, padding=2**63), r"ConvolutionalLayer: padding must be at most 2147483647"),
        (lambda: MaxPoolingLayer(2, stride=2**64), r"MaxPoolingLayer: stride must be at most 2147483647"),
        (lambda: AveragePoolingLayer((2**31, 2)), r"AveragePoolingLayer: pool_shape must be at most 2147483647"),
    ],
    ids=["conv-stride", "conv-stride-pair", "conv-filter", "conv-padding", "max-pool-stride", "avg-pool-shape"],
)
def test_a_window_argument_beyond_what_the_kernels_take_is_rejected_by_the_constructor(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_the_largest_window_argument_the_kernels_take_is_accepted():
    layer = ConvolutionalLayer(2, 3, stride=2**31 - 1)
    assert layer.stride == (2**31 - 1, 2**31 - 1)
    # one window fits a 3x3 image; the next would start 2**31 - 1 rows further down
    assert layer.forward_propagation(np.zeros((1, 3, 3, 1), np.float32)).shape == (1, 1, 1, 2)
