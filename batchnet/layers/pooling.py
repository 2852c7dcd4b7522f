"""Max and average pooling over NHWC batches."""

from batchnet.layers.base import Layer
from batchnet.layers.geometry import window_arguments, window_output_shape


class PoolingLayer(Layer):
    """Shared geometry: ``pool_shape``, ``stride`` and ``padding``, each an int or ``(rows, cols)``.

    Padding may be at most half the pool, so that every window holds at least
    one real input element.
    """

    def __init__(self, pool_shape=(2, 2), stride=2, padding=(0, 0)):
        super().__init__()
        self.pool_shape, self.stride, self.padding = window_arguments(
            self.name, pool_shape, stride, padding, "pool_shape", padding_at_most_half=True)

    def output_shape(self, input_shape):
        oh, ow = window_output_shape(self.name, input_shape, self.pool_shape, self.stride, self.padding)
        return (input_shape[0], oh, ow, input_shape[3])

    def _check_input(self, input_data):
        super()._check_input(input_data)
        if input_data.ndim != 4:
            raise ValueError(f"{self.name}: expected input (N, H, W, C), got shape {input_data.shape}")
        self.output_shape(input_data.shape)

    def extra_repr(self):
        parts = [f"pool_shape={self.pool_shape}", f"stride={self.stride}"]
        if self.padding != (0, 0):
            parts.append(f"padding={self.padding}")
        return ", ".join(parts)


class MaxPoolingLayer(PoolingLayer):
    """Max over each window; padding counts as -inf. The error goes to the first maximum."""

    batch_state = PoolingLayer.batch_state + ("_argmax",)

    def forward(self, input_data):
        output, self._argmax = self.backend.max_pool(
            input_data, self.pool_shape, self.stride, self.padding
        )
        return output

    def backward(self, output_error):
        self._check_output_error(output_error)
        return self.backend.max_pool_backward(
            output_error, self._argmax, self.input.shape, self.pool_shape, self.stride, self.padding
        )


class AveragePoolingLayer(PoolingLayer):
    """Mean over each window; zero padding counts towards the mean."""

    def forward(self, input_data):
        return self.backend.avg_pool(input_data, self.pool_shape, self.stride, self.padding)

    def backward(self, output_error):
        self._check_output_error(output_error)
        return self.backend.avg_pool_backward(
            output_error, self.input.shape, self.pool_shape, self.stride, self.padding
        )
