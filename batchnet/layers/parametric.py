"""Shared handling of weights and biases for the layers that have them."""

import numpy as np

from batchnet.initializers import get_initializer, initializer_name
from batchnet.layers.base import Layer


class ParametricLayer(Layer):
    """A layer with ``weights`` and a 1-D ``bias``, drawn by named initializers.

    Subclasses say the shapes and fans through :meth:`parameter_shapes`.
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

    def parameter_shapes(self, input_data):
        """``(weights_shape, bias_shape, fan_in, fan_out)`` for this input."""
        raise NotImplementedError

    def expected_parameter_shapes(self, sample_shape=None):
        """``{"weights": shape, "bias": shape}`` for input samples of ``sample_shape`` (no batch axis).

        Without ``sample_shape``, a size that follows from the input is ``None``:
        :meth:`parameter_shapes` is asked for two inputs that differ in every
        size, and the sizes that differ are the input's; the others are fixed
        by the layer's own arguments.
        """
        if sample_shape is not None:
            return self._parameter_shapes_for(sample_shape)
        small, large = self._parameter_shapes_for((2, 2, 2)), self._parameter_shapes_for((3, 3, 3))
        return {
            name: tuple(size if size == other else None for size, other in zip(small[name], large[name]))
            for name in small
        }

    def _parameter_shapes_for(self, sample_shape):
        # parameter_shapes reads only the input's shape: a broadcast zero stands in for a batch
        batch = np.broadcast_to(np.zeros((), dtype=self.dtype or np.float32), (1, *sample_shape))
        weights_shape, bias_shape, _, _ = self.parameter_shapes(batch)
        return {"weights": tuple(weights_shape), "bias": tuple(bias_shape)}

    def initialize(self, input_data):
        weights_shape, bias_shape, fan_in, fan_out = self.parameter_shapes(input_data)
        for name, shape, initializer in (
            ("weights", weights_shape, self.weight_initializer),
            ("bias", bias_shape, self.bias_initializer),
        ):
            if getattr(self, name) is None:
                values = initializer(self.rng, shape, fan_in, fan_out, self.dtype)
                setattr(self, name, self.backend.asarray(values, dtype=self.dtype))
        self._check_parameters(weights_shape, bias_shape)

    def reset_parameters(self):
        """Forget the parameters; the next forward pass draws new ones."""
        self.weights = None
        self.bias = None
        self.gradients = {}

    def _check_parameters(self, weights_shape, bias_shape):
        for name, expected in (("weights", weights_shape), ("bias", bias_shape)):
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
