"""Per-sample activation layer, with softmax's full Jacobian handled (B6, B7)."""

import numpy as np

from batchnet.reference.base import Layer


class ActivationLayer(Layer):
    """``ActivationLayer(activation, activation_prime)`` on one sample.

    ``activation_prime(x, output)`` returns either the element-wise derivative
    (shaped like ``x``), multiplied by the error, or a Jacobian ``(n, n)`` over
    the sample's ``n`` values, applied as ``g^T J``. A prime marked
    ``vector_jacobian_product`` (as in :mod:`batchnet.activations`) is called
    as ``activation_prime(x, output, output_error)`` and returns dE/dx.
    """

    def __init__(self, activation, activation_prime):
        super().__init__()
        if not callable(activation) or not callable(activation_prime):
            raise TypeError(
                "ActivationLayer: expected two functions (activation, activation_prime), "
                f"got {activation!r}, {activation_prime!r}"
            )
        self.activation = activation
        self.activation_prime = activation_prime

    def forward(self, input_data):
        return self.activation(input_data)

    def backward(self, output_error):
        output_error = self._checked_error(output_error)
        self.gradients = {}
        if getattr(self.activation_prime, "vector_jacobian_product", False):
            return self.activation_prime(self.input, self.output, output_error)
        derivative = np.asarray(self.activation_prime(self.input, self.output))
        values = self.input.size
        if derivative.shape == (values, values) and derivative.shape != self.input.shape:
            return np.dot(output_error.reshape(-1), derivative).reshape(self.input.shape)
        return derivative * output_error
