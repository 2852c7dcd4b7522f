"""Per-sample convolution through scikit-image windows: the tutorial's fast ConvolutionalLayer, corrected.

Forward is as the tutorial wrote it (``view_as_windows`` + ``tensordot`` per
channel and filter, which was right), with the import it lacked (B20).
Backward keeps one weight gradient per (channel, filter) instead of
overwriting them all with the last one (B26), and scatters the input error
with :func:`convolve_2d_stride`, the tutorial's Cython helper made correct
(B22-B25), into a padded array that is cropped at the end (B27).
"""

import numpy as np
from skimage.util import view_as_windows

from batchnet.reference.base import as_image, crop_padding, output_positions, pad_image
from batchnet.reference.conv import ConvolutionalLayer


def convolve_2d_stride(data, kernel, result, stride):
    """Add ``kernel * data[r, c]`` into the window of ``result`` at ``(r*sh, c*sw)``, in place.

    ``data`` is one filter's ``(OH, OW)`` error, ``kernel`` its ``(KH, KW)``
    weights for one channel, ``result`` that channel's padded ``(H, W)``
    error. The sum runs over the kernel's offsets, each one strided slice of
    ``result`` covering every window, so overlapping windows add up.
    """
    (oh, ow), (kh, kw), (sh, sw) = data.shape, kernel.shape, stride
    for i in range(kh):
        for j in range(kw):
            result[i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += kernel[i, j] * data


class WindowsConvolutionalLayer(ConvolutionalLayer):
    """Same arguments, parameters and results as :class:`ConvolutionalLayer`, computed with windows."""

    def _channel_windows(self, channel):
        """The ``(OH, OW, KH, KW)`` windows of one padded input channel."""
        return view_as_windows(self._padded[:, :, channel], self.filter_shape, self.stride)

    def forward(self, input_data):
        image = as_image(input_data, self.name)
        oh, ow = output_positions(self.name, image, self.filter_shape, self.stride, self.padding)
        self._padded = pad_image(image, self.padding, 0)
        output = np.zeros((oh, ow, self.filters_count), dtype=self.weights.dtype)
        output += self.bias
        for channel in range(image.shape[2]):
            windows = self._channel_windows(channel)
            for f in range(self.filters_count):
                output[:, :, f] += np.tensordot(
                    windows, self.weights[:, :, channel, f], axes=((2, 3), (0, 1))
                )
        return output

    def backward(self, output_error):
        output_error = self._checked_error(output_error)
        image = as_image(self.input, self.name)
        padded_error = np.zeros_like(self._padded)
        weights_error = np.zeros_like(self.weights)
        for channel in range(image.shape[2]):
            windows = self._channel_windows(channel)
            for f in range(self.filters_count):
                convolve_2d_stride(
                    output_error[:, :, f], self.weights[:, :, channel, f],
                    padded_error[:, :, channel], self.stride,
                )
                weights_error[:, :, channel, f] = np.tensordot(
                    windows, output_error[:, :, f], axes=((0, 1), (0, 1))
                )
        self.gradients = {"weights": weights_error, "bias": output_error.sum(axis=(0, 1))}
        input_error = crop_padding(padded_error, self.padding, image.shape[0], image.shape[1])
        return input_error.reshape(self.input.shape)
