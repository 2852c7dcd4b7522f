"""Per-sample flatten layer: any sample -> ``(features,)``."""

from batchnet.reference.base import Layer


class FlattenLayer(Layer):
    """Flattens one sample; the error goes back in the sample's shape."""

    def forward(self, input_data):
        return input_data.reshape(-1)

    def backward(self, output_error):
        return self._checked_error(output_error).reshape(self.input.shape)
