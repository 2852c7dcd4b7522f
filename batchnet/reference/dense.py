"""Per-sample fully-connected layer: ``y = x W + b`` for one sample."""

import numpy as np

from batchnet.reference.base import ParametricLayer


class FCLayer(ParametricLayer):
    """``FCLayer(output_size)``: any sample of ``in`` values -> ``(output_size,)``.

    Weights ``(in, out)`` and bias ``(out,)``, the batched layer's layout. The
    input error comes back in the sample's shape (the tutorial returned
    ``(1, in)``, B5).
    """

    def __init__(self, output_size, *, rng=None):
        if not isinstance(output_size, int) or isinstance(output_size, bool) or output_size < 1:
            raise ValueError(f"FCLayer: output_size must be a positive int, got {output_size!r}")
        super().__init__(rng)
        self.output_size = output_size

    def parameter_shapes(self, sample):
        return (sample.size, self.output_size), (self.output_size,)

    def forward(self, input_data):
        return np.dot(input_data.reshape(-1), self.weights) + self.bias

    def backward(self, output_error):
        # dE/dW = outer(x, g), dE/db = g, dE/dx = W g
        output_error = self._checked_error(output_error)
        self.gradients = {
            "weights": np.outer(self.input.reshape(-1), output_error),
            "bias": output_error.copy(),
        }
        return np.dot(self.weights, output_error).reshape(self.input.shape)
