"""Activation layer: applies ``activation`` element-wise (softmax: row-wise)."""

from batchnet.layers.base import Layer


class ActivationLayer(Layer):
    """``ActivationLayer(tanh, tanh_prime)``, as in the tutorial.

    ``activation_prime(x, output)`` gives the element-wise derivative; one
    marked with ``batchnet.activations.vector_jacobian_product`` (like
    ``softmax_prime``) takes the error too and returns dE/dx directly. A
    prime with a ``backward(x, output, output_error, out=None)`` attribute
    (the built-in element-wise ones) has it compute
    ``prime(x, output) * output_error`` in one buffer; an activation marked
    ``writes_into`` (relu, tanh) takes ``out=`` too. With ``reuse_buffers``
    those buffers are kept from step to step.
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
        if getattr(self.activation, "writes_into", False):
            output = self._buffer("output", input_data.shape, input_data.dtype)
            return self.activation(input_data, out=output)
        return self.activation(input_data)

    def backward(self, output_error):
        self._check_output_error(output_error)
        if getattr(self.activation_prime, "vector_jacobian_product", False):
            return self.activation_prime(self.input, self.output, output_error)
        fused = getattr(self.activation_prime, "backward", None)
        if fused is not None:
            input_error = self._buffer("input_error", output_error.shape, output_error.dtype)
            return fused(self.input, self.output, output_error, out=input_error)
        return self.activation_prime(self.input, self.output) * output_error

    def extra_repr(self):
        return f"{getattr(self.activation, '__name__', self.activation)}"
