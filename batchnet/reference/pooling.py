"""Per-sample max and average pooling with explicit loops over output positions.

Corrected from the tutorial's MaxPoolingLayer: every window that fits is
visited (B30), max pooling pads with -inf so a pad is never the max and the
padding is never negative (B28), the error goes to ONE maximum (the first,
in row-major order inside the window) and overlapping windows add up (B31),
and the input error is cropped back to the input's shape (B32).
"""

import numpy as np

from batchnet.layers.geometry import window_arguments
from batchnet.reference.base import (
    Layer,
    as_image,
    crop_padding,
    output_positions,
    pad_image,
    padded_zeros,
    window_positions,
)


class PoolingLayer(Layer):
    """``pool_shape``, ``stride`` and ``padding``, each an int or ``(rows, cols)``.

    Padding may be at most half the pool, so every window holds at least one
    real input value (as for the batched layers).
    """

    def __init__(self, pool_shape=(2, 2), stride=2, padding=(0, 0)):
        super().__init__()
        self.pool_shape, self.stride, self.padding = window_arguments(
            self.name, pool_shape, stride, padding, "pool_shape", padding_at_most_half=True
        )

    def windows(self, image):
        return window_positions(self.name, image, self.pool_shape, self.stride, self.padding)

    def _output_for(self, image):
        oh, ow = output_positions(self.name, image, self.pool_shape, self.stride, self.padding)
        return np.zeros((oh, ow, image.shape[2]), dtype=image.dtype)


class MaxPoolingLayer(PoolingLayer):
    """``MaxPoolingLayer(pool_shape=(2, 2), stride=2, padding=(0, 0))``: max over each window."""

    def forward(self, input_data):
        image = as_image(input_data, self.name)
        padded = pad_image(image, self.padding, -np.inf)
        output = self._output_for(image)
        # the padded-image position of each output's first maximum, for backward
        self._max_positions = np.zeros(output.shape + (2,), dtype=np.intp)
        for row, col, (rows, cols) in self.windows(image):
            for channel in range(image.shape[2]):
                window = padded[rows, cols, channel]
                i, j = np.unravel_index(np.argmax(window), window.shape)
                output[row, col, channel] = window[i, j]
                self._max_positions[row, col, channel] = (rows.start + i, cols.start + j)
        return output

    def backward(self, output_error):
        output_error = self._checked_error(output_error)
        image = as_image(self.input, self.name)
        padded_error = padded_zeros(image, self.padding, output_error.dtype)
        for row, col, _ in self.windows(image):
            for channel in range(image.shape[2]):
                i, j = self._max_positions[row, col, channel]
                padded_error[i, j, channel] += output_error[row, col, channel]
        input_error = crop_padding(padded_error, self.padding, image.shape[0], image.shape[1])
        return input_error.reshape(self.input.shape)


class AveragePoolingLayer(PoolingLayer):
    """``AveragePoolingLayer(pool_shape=(2, 2), stride=2, padding=(0, 0))``.

    Mean over each window, the zero padding counted: every output divides by
    ``KH * KW``.
    """

    def forward(self, input_data):
        image = as_image(input_data, self.name)
        padded = pad_image(image, self.padding, 0)
        output = self._output_for(image)
        for row, col, window in self.windows(image):
            output[row, col, :] = padded[window].sum(axis=(0, 1)) / self._window_size
        return output

    @property
    def _window_size(self):
        return self.pool_shape[0] * self.pool_shape[1]

    def backward(self, output_error):
        # dx_window += g[r, c] / (KH KW)
        output_error = self._checked_error(output_error)
        image = as_image(self.input, self.name)
        padded_error = padded_zeros(image, self.padding, output_error.dtype)
        for row, col, window in self.windows(image):
            padded_error[window] += output_error[row, col, :] / self._window_size
        input_error = crop_padding(padded_error, self.padding, image.shape[0], image.shape[1])
        return input_error.reshape(self.input.shape)
