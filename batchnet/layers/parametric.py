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
    parameters. The next forward pass checks an array it has not seen before
    against the sizes the layer's own arguments fix (:meth:`parameter_shapes`
    without a sample shape) and against the input's dtype; a size that follows
    from the input is checked against the input by the layer, as on every batch.
    Only a new array object is checked, so a training step (which updates the
    arrays in place) pays one identity test per parameter.
    """

    parameter_names = ("weights", "bias")
    # the parameter arrays last found valid, compared by identity; dropped with
    # the batch state, so that a move or a replica checks its arrays again
    batch_state = Layer.batch_state + ("_checked_parameters",)
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
        self._checked_parameters = None
        self.gradients = {}

    def parameter_hint(self, name, expected, actual):
        """A sentence on what ``actual`` looks like, for the error about a wrong-shape parameter (None: none).

        A subclass names a layout from another library it can recognise.
        """
        return None

    def check_declared_input(self, input_data):
        """Refuse an input that disagrees with an input size given to the constructor (none here).

        Called before the parameters are checked, on the first batch and after
        new parameter arrays; later batches meet the layer's check against the
        parameters, which then have the declared size.
        """

    def _check_input(self, input_data):
        super()._check_input(input_data)
        checked = self._checked_parameters
        if checked is None or self.weights is not checked[0] or self.bias is not checked[1]:
            self.check_declared_input(input_data)
            self._check_assigned_parameters(input_data)
            self._checked_parameters = (self.weights, self.bias)

    def _check_assigned_parameters(self, input_data):
        """Parameters set by hand against the declared shapes and the dtype.

        Only the sizes the layer's own arguments fix decide (a size the input
        decides is the layer's input check's business, which blames the input);
        the error states the whole shape this input would need.
        """
        dtype = self.dtype if self.dtype is not None else input_data.dtype
        sample_shape = tuple(input_data.shape[1:])
        for name, declared in self.parameter_shapes().items():
            array = getattr(self, name)
            if array is None:  # drawn by initialize, then checked against the input
                continue
            if not hasattr(array, "shape") or not hasattr(array, "dtype"):
                raise TypeError(f"{self.name}: expected {name} to be an array, got {type(array).__name__}")
            actual = tuple(array.shape)
            if len(actual) != len(declared) or any(
                    size != want if want is not None else size < 1 for size, want in zip(actual, declared)):
                needed = self.parameter_shapes(sample_shape)[name] if sample_shape else declared
                hint = self.parameter_hint(name, needed, actual)
                given_input = f" for input samples of shape {sample_shape}" if None in declared else ""
                raise ValueError(
                    f"{self.name}: expected {name} of shape {tuple(needed)}{given_input}, got {actual}"
                    + (f", {hint}" if hint else "")
                )
            if array.dtype != dtype:
                raise TypeError(f"{self.name}: expected {name} of dtype {dtype} like its input, got {array.dtype}")

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
