"""Convolution layer (cross-correlation, as the tutorial chose) through im2col.

Forward is one matrix multiply of the im2col columns by the kernel; backward
is two matrix multiplies plus col2im, which sums overlapping windows back.
"""

from backends.base import pair, window_geometry
from batchnet.layers.parametric import ParametricLayer


# kernels up to this many weights take their gradient image by image (see backward)
SMALL_KERNEL_SIZE = 1024


class ConvolutionalLayer(ParametricLayer):
    """``ConvolutionalLayer(filters_count, filter_shape, padding=(0, 0), stride=1)``.

    NHWC input ``(N, H, W, C)`` -> ``(N, OH, OW, filters_count)`` with
    ``OH = (H + 2*padding[0] - filter_shape[0]) // stride + 1``. Weights
    ``(KH, KW, C, F)``, a bias per filter ``(F,)``; zero padding as
    ``(rows, cols)`` or an int; stride an int or ``(rows, cols)``. Weights
    default to He uniform (``"tutorial_uniform"`` gives the tutorial's).
    """

    default_weight_initializer = "he_uniform"

    def __init__(self, filters_count, filter_shape, padding=(0, 0), stride=1, dtype=None,
                 weight_initializer=None, bias_initializer="zeros"):
        if not isinstance(filters_count, int) or isinstance(filters_count, bool) or filters_count < 1:
            raise ValueError(
                f"ConvolutionalLayer: filters_count must be a positive int, got {filters_count!r}"
            )
        super().__init__(dtype, weight_initializer, bias_initializer)
        self.filters_count = filters_count
        self.filter_shape = pair(filter_shape, "ConvolutionalLayer filter_shape")
        self.padding = pair(padding, "ConvolutionalLayer padding")
        self.stride = pair(stride, "ConvolutionalLayer stride")
        self._columns = None
        self._column_error = None
        if min(self.stride) < 1:
            raise ValueError(f"ConvolutionalLayer: stride must be at least 1, got {stride!r}")
        if min(self.filter_shape) < 1:
            raise ValueError(
                f"ConvolutionalLayer: filter_shape must be at least 1x1, got {filter_shape!r}"
            )

    def parameter_shapes(self, input_data):
        kh, kw = self.filter_shape
        channels = input_data.shape[3]
        weights_shape = (kh, kw, channels, self.filters_count)
        return weights_shape, (self.filters_count,), kh * kw * channels, kh * kw * self.filters_count

    def output_shape(self, input_shape):
        """The output shape for an NHWC ``input_shape``."""
        try:
            oh, ow = window_geometry(input_shape, self.filter_shape, self.stride, self.padding)
        except ValueError as error:
            raise ValueError(f"ConvolutionalLayer: {error}") from None
        return (input_shape[0], oh, ow, self.filters_count)

    def _check_input(self, input_data):
        super()._check_input(input_data)
        if input_data.ndim != 4:
            raise ValueError(
                f"ConvolutionalLayer: expected input (N, H, W, C), got shape {input_data.shape}"
            )
        if self.weights is not None and input_data.shape[3] != self.weights.shape[2]:
            raise ValueError(
                f"ConvolutionalLayer: expected input (N, H, W, C) with C={self.weights.shape[2]}, "
                f"got {input_data.shape}"
            )

    def forward(self, input_data):
        n, oh, ow, filters = self.output_shape(input_data.shape)
        # the columns are the largest array of a step and never leave the
        # layer (backward reads them, then the next forward overwrites them):
        # reusing their buffer spares the page faults of a fresh allocation
        self._columns = self.backend.im2col(
            input_data, self.filter_shape, self.stride, self.padding, out=self._columns
        )
        output = self._buffer("output", (self._columns.shape[0], filters), self._columns.dtype)
        self.xp.matmul(self._columns, self.weights.reshape(-1, filters), out=output)
        output += self.bias
        return output.reshape(n, oh, ow, filters)

    def backward(self, output_error, need_input_error=True):
        # dE/dW = cols^T g, dE/db = sum over N, OH, OW of g, dE/dx = col2im(g W^T)
        self._check_output_error(output_error)
        filters = self.filters_count
        error_rows = output_error.reshape(-1, filters)
        if self.weights.size <= SMALL_KERNEL_SIZE:
            # a small kernel makes cols^T g one product with a huge inner
            # dimension (N*OH*OW), which BLAS runs slowly (and, on a busy
            # machine, threads stall on); per image the products are small
            # and single-threaded, and their sum is the same gradient
            n = output_error.shape[0]
            per_image = self.xp.matmul(
                self._columns.reshape(n, -1, self._columns.shape[1]).transpose(0, 2, 1),
                output_error.reshape(n, -1, filters),
            )
            weights_gradient = per_image.sum(axis=0)
        else:
            weights_gradient = self._columns.T @ error_rows
        self.gradients = {
            "weights": weights_gradient.reshape(self.weights.shape),
            # a row of ones times g: error_rows.sum(axis=0) walks the rows with
            # a strided inner loop and took 3.4 ms on B's first layer, this 0.7
            "bias": self.xp.ones(len(error_rows), dtype=error_rows.dtype) @ error_rows,
        }
        if not need_input_error:
            return None
        # g W^T is as large as the columns and as private (col2im reads it and
        # returns a new array): it too keeps its buffer from step to step
        column_error = self._column_error
        if column_error is None or column_error.shape != self._columns.shape:
            column_error = self._column_error = self.xp.empty_like(self._columns)
        self.xp.matmul(error_rows, self.weights.reshape(-1, filters).T, out=column_error)
        return self.backend.col2im(
            column_error, self.input.shape, self.filter_shape, self.stride, self.padding
        )

    def extra_repr(self):
        parts = [f"{self.filters_count}", f"filter_shape={self.filter_shape}"]
        if self.padding != (0, 0):
            parts.append(f"padding={self.padding}")
        if self.stride != (1, 1):
            parts.append(f"stride={self.stride}")
        return ", ".join(parts + self.initializer_repr())
