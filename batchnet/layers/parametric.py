"""Shared handling of weights and biases for the layers that have them."""

import math

from batchnet.initializers import get_initializer, initializer_name
from batchnet.layers.base import Layer


class ParametricLayer(Layer):
    """A layer with ``weights`` and a 1-D ``bias``, drawn by named initializers.

    Subclasses state the shapes through :meth:`parameter_shapes`, and the
    fans through :meth:`fans` where their weights are not laid out ``(..., in, out)``.
    Their ``backward(output_error, need_input_error=True)`` takes one more
    keyword: with ``need_input_error=False`` it stores the gradients and
    returns ``None``, sparing the input error's products (the network asks
    this of its first layer with parameters while training, where the error
    for the data would be thrown away).
    ``weights`` and ``bias`` are plain backend arrays: assign them to set the
    parameters (shapes are checked on the next forward pass).
    """

    parameter_names = ("weights", "bias")
    default_weight_initializer = "glorot_uniform"

    def __init__(self, dtype=None, weight_initializer=None, bias_initializer="zeros"):
        super().__init__(dtype)
        self.weight_initializer = get_initializer(weight_initializer or self.default_weight_initializer)
        self.bias_initializer = get_initializer(bias_initializer)
        self.weights = None
        self.bias = None

    @property
    def initialized(self):
        return self.weights is not None and self.bias is not None

    def parameter_shapes(self, sample_shape=None):
        """``{"weights": shape, "bias": shape}`` for input samples of ``sample_shape`` (no batch axis).

        Without ``sample_shape``, a size that follows from the input is
        ``None``; the others are fixed by the layer's own arguments.
        """
        raise NotImplementedError

    def fans(self, weights_shape):
        """``(fan_in, fan_out)`` of weights ``(..., in, out)``, for the initializers.

        The leading axes (a kernel's KH, KW) multiply both: ``(in, out)`` has
        ``in`` and ``out``, ``(KH, KW, C, F)`` has ``KH*KW*C`` and ``KH*KW*F``.
        """
        receptive_field = math.prod(weights_shape[:-2])
        return receptive_field * weights_shape[-2], receptive_field * weights_shape[-1]

    def initialize(self, input_data):
        shapes = self.parameter_shapes(input_data.shape[1:])
        fan_in, fan_out = self.fans(shapes["weights"])
        for name, initializer in (("weights", self.weight_initializer), ("bias", self.bias_initializer)):
            if getattr(self, name) is None:
                values = initializer(self.rng, shapes[name], fan_in, fan_out, self.dtype)
                setattr(self, name, self.backend.asarray(values, dtype=self.dtype))
        self._check_parameters(shapes)

    def reset_parameters(self):
        """Forget the parameters; the next forward pass draws new ones."""
        self.weights = None
        self.bias = None
        self.gradients = {}

    def _check_parameters(self, shapes):
        for name, expected in shapes.items():
            actual = getattr(self, name).shape
            if tuple(actual) != tuple(expected):
                raise ValueError(f"{self.name}: expected {name} of shape {expected}, got {actual}")

    def initializer_repr(self):
        parts = []
        if initializer_name(self.weight_initializer) != self.default_weight_initializer:
            parts.append(f"weight_initializer={initializer_name(self.weight_initializer)}")
        if self.bias_initializer.__name__ != "zeros":
            parts.append(f"bias_initializer={initializer_name(self.bias_initializer)}")
        return parts
