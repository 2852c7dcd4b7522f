"""Flatten layer: ``(N, ...) -> (N, features)``."""

from batchnet.layers.base import Layer


class FlattenLayer(Layer):
    """Flattens each sample; the error goes back in the input's shape."""

    def forward(self, input_data):
        return input_data.reshape(input_data.shape[0], -1)

    def backward(self, output_error):
        self._check_output_error(output_error)
        return output_error.reshape(self.input.shape)
