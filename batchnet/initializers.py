"""Weight initializers, each drawn on the host from the network's generator.

Drawing on the host means a CPU run and a GPU run with the same seed start
from identical weights. Every initializer takes ``(rng, shape, fan_in,
fan_out, dtype)`` and returns a NumPy array; ``fan_in`` of a conv kernel
``(KH, KW, C, F)`` is ``KH*KW*C`` and its ``fan_out`` is ``KH*KW*F``.
"""

import math

import numpy as np


def zeros(rng, shape, fan_in, fan_out, dtype):
    """All zeros (the default for biases)."""
    return np.zeros(shape, dtype=dtype)


def tutorial_uniform(rng, shape, fan_in, fan_out, dtype):
    """The tutorial's ``np.random.rand(...) - 0.5``: U(-0.5, 0.5), no fan scaling."""
    return (rng.random(shape) - 0.5).astype(dtype)


def glorot_uniform(rng, shape, fan_in, fan_out, dtype):
    """Glorot/Xavier: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)); suits tanh and sigmoid."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(dtype)


def glorot_normal(rng, shape, fan_in, fan_out, dtype):
    """Glorot/Xavier normal: N(0, 2 / (fan_in + fan_out))."""
    return (rng.standard_normal(shape) * math.sqrt(2.0 / (fan_in + fan_out))).astype(dtype)


def he_uniform(rng, shape, fan_in, fan_out, dtype):
    """He/Kaiming: U(-a, a) with a = sqrt(6 / fan_in); keeps ReLU activations' variance."""
    limit = math.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, shape).astype(dtype)


def he_normal(rng, shape, fan_in, fan_out, dtype):
    """He/Kaiming normal: N(0, 2 / fan_in)."""
    return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(dtype)


def uniform_fan_in(rng, shape, fan_in, fan_out, dtype):
    """U(-a, a) with a = 1 / sqrt(fan_in): PyTorch's default for Conv2d and Linear weights.

    A third of He's variance. Before batch norm the scale of the weights does
    not change the output, only how far a step moves them: smaller weights
    learn faster under the same learning rate (see models.cnn_bn).
    """
    limit = 1 / math.sqrt(fan_in)
    return rng.uniform(-limit, limit, shape).astype(dtype)


INITIALIZERS = {
    function.__name__: function
    for function in (zeros, tutorial_uniform, glorot_uniform, glorot_normal, he_uniform, he_normal, uniform_fan_in)
}


def get_initializer(initializer):
    """An initializer by name, or a callable with the same signature as is."""
    if callable(initializer):
        return initializer
    if initializer not in INITIALIZERS:
        raise ValueError(f"initializer: expected one of {sorted(INITIALIZERS)}, got {initializer!r}")
    return INITIALIZERS[initializer]


def initializer_name(initializer):
    return getattr(initializer, "__name__", repr(initializer))
