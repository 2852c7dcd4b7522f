"""Per-sample convolution with explicit loops: the tutorial's ConvolutionalLayerSlow, corrected.

The loops run over output positions (so every window that fits is visited,
B13/B14), take the whole ``(kh, kw)`` window of every channel (B15, B16),
accumulate the weight gradient (B17) and the input error in a padded array that
is cropped at the end (B18). A bias per filter is added.
"""

import numpy as np

from batchnet.layers.geometry import window_arguments
from batchnet.reference.base import (
    ParametricLayer,
    as_image,
    crop_padding,
    output_positions,
    pad_image,
    window_positions,
)


class ConvolutionalLayer(ParametricLayer):
    """``ConvolutionalLayer(filters_count, filter_shape, padding=(0, 0), stride=1)`` on one image.

    ``(H, W, C) -> (OH, OW, filters_count)``, cross-correlation, weights
    ``(KH, KW, C, F)`` and bias ``(F,)`` like the batched layer; padding and
    stride are ints or ``(rows, cols)``.
    """

    def __init__(self, filters_count, filter_shape, padding=(0, 0), stride=1, rng=None):
        if not isinstance(filters_count, int) or isinstance(filters_count, bool) or filters_count < 1:
            raise ValueError(f"{self.name}: filters_count must be a positive int, got {filters_count!r}")
        super().__init__(rng)
        self.filters_count = filters_count
        self.filter_shape, self.stride, self.padding = window_arguments(
            self.name, filter_shape, stride, padding, "filter_shape"
        )

    def parameter_shapes(self, sample):
        channels = as_image(sample, self.name).shape[2]
        return (*self.filter_shape, channels, self.filters_count), (self.filters_count,)

    def windows(self, image):
        return window_positions(self.name, image, self.filter_shape, self.stride, self.padding)

    def forward(self, input_data):
        image = as_image(input_data, self.name)
        self._padded = pad_image(image, self.padding, 0)
        oh, ow = output_positions(self.name, image, self.filter_shape, self.stride, self.padding)
        output = np.zeros((oh, ow, self.filters_count), dtype=self.weights.dtype)
        for row, col, window in self.windows(image):
            patch = self._padded[window]
            for f in range(self.filters_count):
                output[row, col, f] = np.sum(patch * self.weights[:, :, :, f]) + self.bias[f]
        return output

    def backward(self, output_error):
        # dW[..., f] = sum_windows x_window g[r, c, f]; dx_window += W[..., f] g[r, c, f]; db = sum g
        output_error = self._checked_error(output_error)
        image = as_image(self.input, self.name)
        padded_error = np.zeros_like(self._padded)
        weights_error = np.zeros_like(self.weights)
        bias_error = np.zeros_like(self.bias)
        for row, col, window in self.windows(image):
            patch = self._padded[window]
            for f in range(self.filters_count):
                error = output_error[row, col, f]
                padded_error[window] += self.weights[:, :, :, f] * error
                weights_error[:, :, :, f] += patch * error
                bias_error[f] += error
        self.gradients = {"weights": weights_error, "bias": bias_error}
        input_error = crop_padding(padded_error, self.padding, image.shape[0], image.shape[1])
        return input_error.reshape(self.input.shape)
