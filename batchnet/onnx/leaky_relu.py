"""Leaky ReLU, ``f(x) = x`` where ``x > 0`` else ``alpha * x``, for ONNX's LeakyRelu op.

batchnet.activations has no leaky ReLU yet, and its registry holds plain
functions, with no room for ``alpha``. Until it has one, a LeakyRelu node
loads as an ActivationLayer of the pair made here, which carries its
``alpha`` so that export writes it back; save_model refuses it, as it does
every activation outside that registry. ONNX keeps alpha as a float32, so an
alpha such as 0.3 comes back as 0.30000001.
"""

from backends import backend_for


def leaky_relu_pair(alpha):
    """``(activation, activation_prime)`` of leaky ReLU with slope ``alpha`` below zero."""
    alpha = float(alpha)

    def leaky_relu(x):
        xp = backend_for(x).xp
        return xp.where(x > 0, x, x * x.dtype.type(alpha))

    def leaky_relu_prime(x, output):
        """f'(x) = 1 where x > 0, else alpha."""
        xp = backend_for(x).xp
        return xp.where(x > 0, x.dtype.type(1), x.dtype.type(alpha))

    leaky_relu.leaky_relu_alpha = leaky_relu_prime.leaky_relu_alpha = alpha
    return leaky_relu, leaky_relu_prime


def leaky_relu_alpha(activation):
    """The ``alpha`` of an activation made by :func:`leaky_relu_pair`, else ``None``."""
    return getattr(activation, "leaky_relu_alpha", None)
