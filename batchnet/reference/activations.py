"""Per-sample activation functions in the tutorial's form ``f(x)``, ``f_prime(x, output)``.

Written independently of :mod:`batchnet.activations` so that the reference is
an oracle for them. Element-wise derivatives return an array shaped like
``x``; ``softmax_prime`` returns the full Jacobian ``(n, n)`` of the sample's
``n`` values, which the reference ``ActivationLayer`` applies as ``g^T J``
(the tutorial's softmax_prime was wrong, B6, and an element-wise product can
never be right for softmax, B7).
"""

import numpy as np


def tanh(x):
    return np.tanh(x)


def tanh_prime(x, output):
    """tanh'(x) = 1 - tanh(x)^2, from the output (B35)."""
    return 1 - output ** 2


def sigmoid(x):
    # exp(-log(1 + exp(-x))) never overflows, unlike 1 / (1 + exp(-x)) for very negative x
    return np.exp(-np.logaddexp(0, -x))


def sigmoid_prime(x, output):
    """sigmoid'(x) = s (1 - s)."""
    return output * (1 - output)


def relu(x):
    return np.where(x > 0, x, 0).astype(x.dtype)


def relu_prime(x, output):
    """1 where x > 0, else 0 (the derivative at 0 is taken as 0)."""
    return np.where(x > 0, 1, 0).astype(x.dtype)


def softmax(x):
    """The tutorial's softmax over all of the sample's values, shifted by the max for stability."""
    exps = np.exp(x - x.max())
    return exps / np.sum(exps)


def softmax_prime(x, output):
    """The Jacobian J_ij = ds_i/dz_j = s_i (delta_ij - s_j), shape (n, n)."""
    s = output.reshape(-1)
    jacobian = -np.outer(s, s)
    for i in range(s.size):
        jacobian[i, i] += s[i]
    return jacobian


ACTIVATIONS = {
    "tanh": (tanh, tanh_prime),
    "sigmoid": (sigmoid, sigmoid_prime),
    "relu": (relu, relu_prime),
    "softmax": (softmax, softmax_prime),
}


def leaky_relu(x, slope=0.01):
    return (x * np.where(x > 0, 1.0, slope)).astype(x.dtype)


def leaky_relu_prime(x, output, slope=0.01):
    """1 where x > 0, else slope (slope at 0)."""
    return np.where(x > 0, 1.0, slope).astype(x.dtype)


def softplus(x):
    # max(x, 0) + log(1 + e^-|x|): another stable form than the batched logaddexp
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def softplus_prime(x, output):
    """softplus'(x) = sigmoid(x)."""
    return sigmoid(x)


ACTIVATIONS["leaky_relu"] = (leaky_relu, leaky_relu_prime)
ACTIVATIONS["softplus"] = (softplus, softplus_prime)
