"""Window arguments (batchnet/layers/geometry.py) as the layers take them: ints or pairs, checked."""

import numpy as np
import pytest

from batchnet import AveragePoolingLayer, ConvolutionalLayer, MaxPoolingLayer


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
