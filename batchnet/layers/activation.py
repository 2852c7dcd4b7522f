"""Activation layer: applies ``activation`` element-wise (softmax: row-wise)."""

import inspect

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

    A one-argument ``activation_prime(x)``, as Omar Aflak's tutorial writes
    ``tanh_prime``, is taken too: it is called ``activation_prime(x)``. Which
    form a function has is read once, here, from its signature: one that can
    be called with ``(x, output)`` gets both, one that takes only ``(x)`` gets
    ``x``, and one that can be called with neither is refused.
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
        self._prime_takes_output = _takes_output(activation_prime)

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
        if self._prime_takes_output:
            return self.activation_prime(self.input, self.output) * output_error
        return self.activation_prime(self.input) * output_error

    def extra_repr(self):
        return f"{getattr(self.activation, '__name__', self.activation)}"


def _takes_output(prime):
    """Whether ``prime`` is called ``(x, output)`` (True) or ``(x)`` (False); a TypeError if neither.

    A prime marked as a vector-Jacobian product is called
    ``(x, output, output_error)`` and must take that. A callable whose
    signature cannot be read (some built-ins) is called ``(x, output)``, the
    batchnet form; a NumPy ufunc says how many inputs it takes.
    """
    vector_jacobian = getattr(prime, "vector_jacobian_product", False)
    inputs = getattr(prime, "nin", None)  # NumPy and CuPy ufuncs have no readable signature
    if isinstance(inputs, int) and not vector_jacobian:
        if inputs in (1, 2):
            return inputs == 2
        return _refuse(prime, f"a ufunc of {inputs} inputs")
    try:
        signature = inspect.signature(prime)
    except (TypeError, ValueError):
        return True
    forms = [("x", "output", "output_error")] if vector_jacobian else [("x", "output"), ("x",)]
    for form in forms:
        try:
            signature.bind(*form)
        except TypeError:
            continue
        return len(form) > 1
    return _refuse(prime, f"signature {signature}")


def _refuse(prime, what):
    name = getattr(prime, "__name__", repr(prime))
    if getattr(prime, "vector_jacobian_product", False):
        expected = "(x, output, output_error), as it is marked vector_jacobian_product"
    else:
        expected = "(x, output), as batchnet's primes do, or (x), as Aflak's tanh_prime(x) does"
        what += (" (one that takes the output error too and returns dE/dx must be marked with "
                 "batchnet.activations.vector_jacobian_product)")
    raise TypeError(f"ActivationLayer: activation_prime {name} must take {expected}; it has {what}")
