"""Fully-connected layer: ``y = x W + b`` on a batch of vectors."""

import math
import numbers

from batchnet.layers.parametric import ParametricLayer


class FCLayer(ParametricLayer):
    """Fully connected: ``(N, in) -> (N, output_size)``, weights ``(in, out)``, bias ``(out,)``.

    ``FCLayer(output_size)`` takes its input size from the first batch;
    ``FCLayer(input_size, output_size)`` (the form of Omar Aflak's tutorial
    code) states it, and a first batch of another size is refused. The other
    arguments are keywords only (``dtype=``, ``weight_initializer=``,
    ``bias_initializer=``), so that a second number is never taken for one of them.

    An input with more than two axes is flattened per sample, and the input
    error comes back in the input's shape. Weights default to Glorot uniform
    (``weight_initializer="tutorial_uniform"`` gives the tutorial's U(-0.5, 0.5)).
    """

    batch_state = ParametricLayer.batch_state + ("_flat_input",)

    def __init__(self, *sizes, output_size=None, input_size=None, dtype=None, weight_initializer=None,
                 bias_initializer="zeros"):
        input_size, output_size = _sizes(sizes, input_size, output_size)
        super().__init__(dtype, weight_initializer, bias_initializer)
        self.input_size = input_size
        self.output_size = output_size

    def parameter_shapes(self, sample_shape=None):
        # a declared input size stands; an input that disagrees is refused by check_declared_input
        features = self.input_size
        if features is None and sample_shape is not None:
            features = math.prod(sample_shape)
        return {"weights": (features, self.output_size), "bias": (self.output_size,)}

    def parameter_hint(self, name, expected, actual):
        if name == "weights" and tuple(actual) == expected[::-1] and expected[0] != expected[1]:
            return "which looks like PyTorch's Linear layout (out, in): batchnet wants (in, out), e.g. weights.T"
        if name == "bias" and tuple(actual) == (1, self.output_size):
            return "a row as in Aflak's tutorial: batchnet's bias is 1-D (out,), e.g. bias.reshape(-1)"
        return None

    def check_declared_input(self, input_data):
        if self.input_size is not None and _features(input_data) != self.input_size:
            raise ValueError(
                f"FCLayer: declared input_size={self.input_size}, got input of shape {input_data.shape} "
                f"({_features(input_data)} features per sample)"
            )

    def forward(self, input_data):
        features = _features(input_data)
        if features != self.weights.shape[0]:
            raise ValueError(
                f"FCLayer: expected {self.weights.shape[0]} input features, got input of "
                f"shape {input_data.shape} ({features} features)"
            )
        flat = input_data.reshape(input_data.shape[0], features)
        self._flat_input = flat
        return flat @ self.weights + self.bias

    def backward(self, output_error, need_input_error=True):
        # dE/dW = x^T g, dE/db = sum_n g, dE/dx = g W^T
        self._check_output_error(output_error)
        inputs_t = self._flat_input.T
        # at batch 1 the inner dimension is 1, where NumPy's matmul leaves BLAS for a slow loop
        # (97 us for 784x100, dot 18 us); from batch 2 up matmul is the faster (0.7-0.93x dot's time)
        weights_gradient = self.xp.dot(inputs_t, output_error) if len(output_error) == 1 else inputs_t @ output_error
        self.gradients = {
            "weights": weights_gradient,
            "bias": output_error.sum(axis=0),
        }
        if not need_input_error:
            return None
        return (output_error @ self.weights.T).reshape(self.input.shape)

    def extra_repr(self):
        parts = [str(self.output_size)]
        if self.weights is not None:
            parts.insert(0, f"in={self.weights.shape[0]}")
        elif self.input_size is not None:
            parts.insert(0, f"in={self.input_size}")
        return ", ".join(parts + self.initializer_repr())


def _sizes(sizes, input_size, output_size):
    """``(input_size or None, output_size)`` from ``FCLayer``'s positional and keyword sizes."""
    if len(sizes) > 2:
        raise TypeError(f"FCLayer: expected (output_size) or (input_size, output_size), got {len(sizes)} "
                        "positional arguments (dtype and the initializers are keywords: dtype=...)")
    if len(sizes) == 2 and not _is_size(sizes[1]) and not isinstance(sizes[1], numbers.Number):
        raise TypeError(f"FCLayer: the second positional argument is output_size, got {sizes[1]!r}; "
                        f"dtype is a keyword: FCLayer({sizes[0]!r}, dtype={sizes[1]!r})")
    given = {"output_size": output_size, "input_size": input_size}
    if len(sizes) == 2:
        named = dict(zip(("input_size", "output_size"), sizes))
    elif len(sizes) == 1:
        # FCLayer(784, output_size=100) is Aflak's call with one keyword; FCLayer(100) is batchnet's
        named = {"input_size" if output_size is not None else "output_size": sizes[0]}
    else:
        named = {}
    for name, value in named.items():
        if given[name] is not None:
            raise TypeError(f"FCLayer: {name} given twice, as {value!r} and {name}={given[name]!r}")
        given[name] = value
    if given["output_size"] is None:
        raise TypeError("FCLayer: missing output_size: FCLayer(output_size) or FCLayer(input_size, output_size)")
    for name, value in given.items():
        if value is not None and not _is_size(value):
            raise ValueError(f"FCLayer: {name} must be a positive int, got {value!r}")
    return given["input_size"], given["output_size"]


def _is_size(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _features(input_data):
    features = 1
    for size in input_data.shape[1:]:
        features *= size
    return features
