"""Per-sample dropout, given the mask: the oracle for :class:`batchnet.layers.DropoutLayer`.

The batched layer draws its masks from its own generator; this one is handed
the keep mask of one sample (``True``/``1`` where the element is kept) and
applies inverted dropout element by element, in plain loops, as the
tutorial's layers compute.
"""

import numpy as np

from batchnet.reference.base import Layer


class DropoutLayer(Layer):
    """``DropoutLayer(rate)`` on one sample; set ``keep`` (shaped like the sample) before a training pass."""

    def __init__(self, rate):
        super().__init__()
        if not 0 <= rate < 1:
            raise ValueError(f"DropoutLayer: rate must be in [0, 1), got {rate!r}")
        self.rate = rate
        self.training = False
        self.keep = None

    def forward(self, input_data):
        if not self.training:
            return input_data.copy()
        keep = np.asarray(self.keep)
        if keep.shape != input_data.shape:
            raise ValueError(f"DropoutLayer: expected a keep mask of shape {input_data.shape}, got {keep.shape}")
        output = np.zeros_like(input_data)
        for index in np.ndindex(input_data.shape):
            if keep[index]:
                output[index] = input_data[index] / (1 - self.rate)
        return output

    def backward(self, output_error):
        """dE/dx_i = dE/dy_i / (1 - rate) where x_i was kept, else 0 (the identity at inference)."""
        output_error = self._checked_error(output_error)
        self.gradients = {}
        if not self.training:
            return output_error.copy()
        input_error = np.zeros_like(output_error)
        for index in np.ndindex(output_error.shape):
            if self.keep[index]:
                input_error[index] = output_error[index] / (1 - self.rate)
        return input_error
