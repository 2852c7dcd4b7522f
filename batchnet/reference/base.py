"""The per-sample Layer contract of the tutorial, with parameter gradients kept.

``forward_propagation(sample)`` takes ONE sample — ``(H, W, C)`` or
``(features,)``, a single row of a batch — and returns its output.
``backward(output_error)`` stores dE/dparameter in ``self.gradients`` and
returns dE/dinput; ``backward_propagation(output_error, learning_rate)`` is the
tutorial's call: ``backward`` followed by the SGD step, so the input error is
computed with the weights the forward pass used.
"""

import numpy as np

from backends.base import output_size


class Layer:
    """A reference layer working on one sample at a time, in plain NumPy."""

    parameter_names = ()

    def __init__(self):
        self.input = None
        self.output = None
        self.gradients = {}

    @property
    def name(self):
        return type(self).__name__

    def parameters(self):
        """The trainable arrays by name (empty before the first forward pass)."""
        return {name: getattr(self, name) for name in self.parameter_names
                if getattr(self, name, None) is not None}

    def forward_propagation(self, input_data):
        input_data = np.asarray(input_data)
        if input_data.dtype.kind != "f":
            raise TypeError(f"{self.name}: expected a float sample, got dtype {input_data.dtype}")
        self.input = input_data
        self.output = self.forward(input_data)
        return self.output

    def backward_propagation(self, output_error, learning_rate):
        input_error = self.backward(output_error)
        if learning_rate is not None:
            for name, gradient in self.gradients.items():
                parameter = getattr(self, name)
                parameter -= learning_rate * gradient
        return input_error

    def forward(self, input_data):
        raise NotImplementedError

    def backward(self, output_error):
        raise NotImplementedError

    def _checked_error(self, output_error):
        if self.output is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        output_error = np.asarray(output_error)
        if output_error.shape != self.output.shape:
            raise ValueError(
                f"{self.name}: expected output error of shape {self.output.shape}, "
                f"got {output_error.shape}"
            )
        return output_error


def tutorial_uniform(rng, shape, dtype):
    """The tutorial's ``np.random.rand(*shape) - 0.5``: U(-0.5, 0.5), from ``rng``."""
    return (rng.random(shape) - 0.5).astype(dtype)


def as_image(sample, layer_name):
    """``sample`` as ``(H, W, C)``; a 2-D ``(H, W)`` image is one channel (the seed fed those, B12)."""
    if sample.ndim == 2:
        return sample[:, :, None]
    if sample.ndim != 3:
        raise ValueError(f"{layer_name}: expected one sample (H, W, C), got shape {sample.shape}")
    return sample


def output_positions(layer_name, image, kernel, stride, padding):
    """``(OH, OW)``: how many windows fit in the padded image along each axis (B13, B14)."""
    height, width = image.shape[:2]
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if kh > height + 2 * ph or kw > width + 2 * pw:
        raise ValueError(
            f"{layer_name}: window {kh}x{kw} is larger than the padded input "
            f"{height + 2 * ph}x{width + 2 * pw} (input shape {image.shape}, padding {padding})"
        )
    return output_size(height, kh, sh, ph), output_size(width, kw, sw, pw)


def window_positions(layer_name, image, kernel, stride, padding):
    """Yield ``(row, col, (rows, cols))``: each output position and the slices of its padded window."""
    (kh, kw), (sh, sw) = kernel, stride
    oh, ow = output_positions(layer_name, image, kernel, stride, padding)
    for row in range(oh):
        for col in range(ow):
            yield row, col, (slice(row * sh, row * sh + kh), slice(col * sw, col * sw + kw))


def pad_image(image, padding, value):
    """``image`` (H, W, C) with ``padding`` rows and columns of ``value`` on each side."""
    (ph, pw) = padding
    return np.pad(image, ((ph, ph), (pw, pw), (0, 0)), constant_values=value)


def padded_zeros(image, padding, dtype):
    """Zeros shaped like ``image`` (H, W, C) once padded: where a padded input's error accumulates."""
    (ph, pw) = padding
    height, width, channels = image.shape
    return np.zeros((height + 2 * ph, width + 2 * pw, channels), dtype=dtype)


def crop_padding(padded, padding, height, width):
    """The inverse of :func:`pad_image` for errors: the part that lies over the real image (B18)."""
    (ph, pw) = padding
    return padded[ph:ph + height, pw:pw + width]


class ParametricLayer(Layer):
    """A reference layer with ``weights`` and a 1-D ``bias``.

    Both are drawn from the tutorial's U(-0.5, 0.5) on the first forward pass,
    in the sample's dtype, unless they were assigned before (shapes are then
    checked): assign them to share weights with a batched layer.
    """

    parameter_names = ("weights", "bias")

    def __init__(self, rng=None):
        super().__init__()
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.weights = None
        self.bias = None

    def parameter_shapes(self, sample):
        """``(weights_shape, bias_shape)`` for this sample."""
        raise NotImplementedError

    def initialize(self, sample):
        weights_shape, bias_shape = self.parameter_shapes(sample)
        if self.weights is None:
            self.weights = tutorial_uniform(self.rng, weights_shape, sample.dtype)
        if self.bias is None:
            self.bias = tutorial_uniform(self.rng, bias_shape, sample.dtype)
        for name, expected in (("weights", weights_shape), ("bias", bias_shape)):
            actual = np.shape(getattr(self, name))
            if actual != tuple(expected):
                raise ValueError(
                    f"{self.name}: expected {name} of shape {expected} for a sample of shape "
                    f"{sample.shape}, got {actual}"
                )

    def forward_propagation(self, input_data):
        input_data = np.asarray(input_data)
        if input_data.dtype.kind == "f":
            self.initialize(input_data)
        return super().forward_propagation(input_data)
