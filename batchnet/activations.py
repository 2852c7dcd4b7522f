"""Activation functions and their derivatives, in the tutorial's form.

``f(x)`` maps an array; ``f_prime(x, output)`` returns the element-wise
derivative at ``x`` given ``output = f(x)``, which ``ActivationLayer``
multiplies by the incoming error. Softmax couples the elements of a row, so
``softmax_prime`` is marked as a vector-Jacobian product: it takes the error
too and returns ``dE/dx`` itself.

tanh_prime and sigmoid_prime also carry ``prime.backward(x, output, output_error)``,
the same ``prime(x, output) * output_error`` computed with the same operations
in the same order (so the same bits) but in one output buffer instead of a
fresh array per operation: ``ActivationLayer`` uses it when it is there.
relu_prime's goes to the backend's ``relu_backward`` (one compiled pass on
the NumPy backend when the extension is built). These ``backward`` functions, and relu
and tanh (marked ``writes_into``), take an optional ``out=`` array to write
their result into.
"""

import functools

from backends import backend_for


def vector_jacobian_product(prime):
    """Mark ``prime(x, output, output_error)`` as returning dE/dx, not an element-wise derivative."""
    prime.vector_jacobian_product = True
    return prime


def writes_into(activation):
    """Mark ``activation(x, out=None)`` as able to write its result into ``out``."""
    activation.writes_into = True
    return activation


@writes_into
def tanh(x, out=None):
    return backend_for(x).xp.tanh(x, out=out)


def tanh_prime(x, output):
    """tanh'(x) = 1 - tanh(x)^2, from the output already computed."""
    return 1 - output * output


def _tanh_backward(x, output, output_error, out=None):
    xp = backend_for(output).xp
    input_error = xp.multiply(output, output, out=out)
    xp.subtract(1, input_error, out=input_error)
    input_error *= output_error
    return input_error


tanh_prime.backward = _tanh_backward


def sigmoid(x):
    xp = backend_for(x).xp
    # 0.5 * (1 + tanh(x / 2)) equals 1 / (1 + exp(-x)) without overflow for large |x|
    return 0.5 * (1 + xp.tanh(0.5 * x))


def sigmoid_prime(x, output):
    """sigmoid'(x) = s (1 - s)."""
    return output * (1 - output)


def _sigmoid_backward(x, output, output_error, out=None):
    input_error = backend_for(output).xp.subtract(1, output, out=out)
    input_error *= output
    input_error *= output_error
    return input_error


sigmoid_prime.backward = _sigmoid_backward


@writes_into
def relu(x, out=None):
    return backend_for(x).xp.maximum(x, 0, out=out)


def relu_prime(x, output):
    """relu'(x) = 1 where x > 0, else 0 (0 at x = 0)."""
    return (x > 0).astype(x.dtype)


def _relu_backward(x, output, output_error, out=None):
    return backend_for(x).relu_backward(x, output_error, out=out)


relu_prime.backward = _relu_backward


def softmax(x):
    """Row-wise softmax over the last axis, shifted by the row max for stability."""
    xp = backend_for(x).xp
    exps = xp.exp(x - x.max(axis=-1, keepdims=True))
    return exps / exps.sum(axis=-1, keepdims=True)


@vector_jacobian_product
def softmax_prime(x, output, output_error):
    """dE/dz = J^T g with J_ij = s_i (delta_ij - s_j), i.e. s * (g - sum(g * s))."""
    return output * (output_error - (output_error * output).sum(axis=-1, keepdims=True))


ACTIVATIONS = {
    "tanh": (tanh, tanh_prime),
    "sigmoid": (sigmoid, sigmoid_prime),
    "relu": (relu, relu_prime),
    "softmax": (softmax, softmax_prime),
}


LEAKY_RELU_SLOPE = 0.01  # the registry's leaky ReLU: PyTorch's and Keras's default negative slope


def leaky_relu(x, slope=LEAKY_RELU_SLOPE):
    """x where x > 0, else slope * x (:func:`leaky_relu_pair` for another slope)."""
    return backend_for(x).xp.where(x > 0, x, x * x.dtype.type(slope))


def leaky_relu_prime(x, output, slope=LEAKY_RELU_SLOPE):
    """1 where x > 0, else slope (slope at x = 0, as relu_prime takes 0 there and PyTorch slope)."""
    return backend_for(x).xp.where(x > 0, x.dtype.type(1), x.dtype.type(slope))


def leaky_relu_pair(slope):
    """``(activation, activation_prime)`` of leaky ReLU with ``slope`` below zero.

    The registry's own pair for the default slope; else partials of the same two
    functions, which :func:`leaky_relu_slope` (and so ONNX export) can read back.
    """
    slope = float(slope)
    if slope == LEAKY_RELU_SLOPE:
        return leaky_relu, leaky_relu_prime
    return functools.partial(leaky_relu, slope=slope), functools.partial(leaky_relu_prime, slope=slope)


def leaky_relu_slope(activation):
    """The slope of a leaky ReLU made here (the registry's or :func:`leaky_relu_pair`'s), else ``None``."""
    if activation is leaky_relu:
        return LEAKY_RELU_SLOPE
    if isinstance(activation, functools.partial) and activation.func is leaky_relu and not activation.args:
        return float(activation.keywords.get("slope", LEAKY_RELU_SLOPE))
    return None


def softplus(x):
    """log(1 + e^x), as logaddexp(0, x): no overflow for large x, no log(1) rounding to 0 for very negative x."""
    return backend_for(x).xp.logaddexp(0, x)


def softplus_prime(x, output):
    """softplus'(x) = sigmoid(x) = 1 - e^(-softplus(x)), taken as -expm1(-output): exact for tiny outputs too."""
    return -backend_for(output).xp.expm1(-output)


ACTIVATIONS["leaky_relu"] = (leaky_relu, leaky_relu_prime)
ACTIVATIONS["softplus"] = (softplus, softplus_prime)
