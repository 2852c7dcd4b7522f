"""Convolution layer (cross-correlation, as the tutorial chose) through im2col.

Forward is one matrix multiply of the im2col columns by the kernel; backward
is two matrix multiplies plus col2im, which sums overlapping windows back:
``backward`` reads as those formulas, and the memory tactics sit in the helpers
below it. On the CPU the batch is worked through a chunk of images at a time
(``backend.column_chunk_bytes``), so that each chunk's columns stay in cache
between im2col and the products; backward makes them again, which cost less
than storing batch-sized columns.
"""

from batchnet.layers.geometry import window_arguments, window_output_shape
from batchnet.layers.parametric import ParametricLayer


# kernels up to this many weights take their gradient image by image (see _add_weights_gradient)
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

    # forward leaves the last chunk's columns (of the images _columns_range) for
    # backward; the storage of the columns and of dY · W^T is kept from step to step
    batch_state = ParametricLayer.batch_state + ("_columns", "_columns_range")
    scratch_stores = ParametricLayer.scratch_stores + ("_scratch_storage",)

    def __init__(self, filters_count, filter_shape, padding=(0, 0), stride=1, dtype=None,
                 weight_initializer=None, bias_initializer="zeros"):
        if not isinstance(filters_count, int) or isinstance(filters_count, bool) or filters_count < 1:
            raise ValueError(
                f"ConvolutionalLayer: filters_count must be a positive int, got {filters_count!r}"
            )
        super().__init__(dtype, weight_initializer, bias_initializer)
        self.filters_count = filters_count
        self.filter_shape, self.stride, self.padding = window_arguments(
            "ConvolutionalLayer", filter_shape, stride, padding, "filter_shape")

    def parameter_shapes(self, sample_shape=None):
        channels = None if sample_shape is None else sample_shape[-1]
        return {"weights": (*self.filter_shape, channels, self.filters_count), "bias": (self.filters_count,)}

    def parameter_hint(self, name, expected, actual):
        if name != "weights" or len(actual) != 4:
            return None
        kh, kw, _, filters = expected
        if actual[0] == filters and actual[2:] == (kh, kw):
            return ("which looks like PyTorch's (F, C, KH, KW) layout: batchnet wants (KH, KW, C, F), "
                    "e.g. weights.transpose(2, 3, 1, 0)")
        return None

    def output_shape(self, input_shape):
        """The output shape for an NHWC ``input_shape``."""
        oh, ow = window_output_shape("ConvolutionalLayer", input_shape, self.filter_shape, self.stride, self.padding)
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
        kernel = self.weights.reshape(-1, filters)
        output = self._buffer("output", (n * oh * ow, filters), input_data.dtype)
        pixels = oh * ow
        for start, stop in self._chunks(input_data.shape):
            rows = output[start * pixels:stop * pixels]
            self.xp.matmul(self._make_columns(input_data, start, stop), kernel, out=rows)
            rows += self.bias  # while the chunk is in cache
        return output.reshape(n, oh, ow, filters)

    def backward(self, output_error, need_input_error=True):
        self._check_output_error(output_error)
        kernel = self.weights.reshape(-1, self.filters_count)  # W as (KH*KW*C, F)
        errors = output_error.reshape(-1, self.filters_count)  # dY, a row per output pixel
        input_error = None
        if need_input_error:
            input_error = self._buffer("input_error", self.input.shape, errors.dtype)
        weights_gradient = None
        for images, columns, chunk_errors in self._backward_chunks(errors):
            # dE/dW = cols^T · dY, summed over the chunks
            weights_gradient = self._add_weights_gradient(weights_gradient, columns, chunk_errors)
            if need_input_error:
                # dE/dX = col2im(dY · W^T)
                self._col2im_into(input_error[images], self._column_error(chunk_errors, kernel, columns))
        self.gradients = {
            "weights": weights_gradient.reshape(self.weights.shape),
            "bias": self._sum_rows(errors),  # dE/db = sum of dY over N, OH, OW
        }
        return input_error

    # -- the memory tactics of backward -------------------------------------

    def _backward_chunks(self, errors):
        """``(images, columns, errors)`` per chunk of images, as forward cut them: last chunk first.

        ``images`` is the chunk's slice of the batch, ``columns`` its im2col
        and ``errors`` its rows of dY. Forward left the last chunk's columns in
        the buffer, so that chunk comes first and is not made again.
        """
        pixels = len(errors) // len(self.input)
        for start, stop in reversed(self._chunks(self.input.shape)):
            if self._columns is not None and self._columns_range == (start, stop):
                columns = self._columns
            else:
                columns = self._make_columns(self.input, start, stop)
            yield slice(start, stop), columns, errors[start * pixels:stop * pixels]

    def _add_weights_gradient(self, total, columns, errors):
        """``total + cols^T · dY`` for one chunk (``total`` None for the first chunk).

        A small kernel makes cols^T · dY one product with a huge inner
        dimension (the chunk's rows), which CPU BLAS runs slowly (and, on a
        busy machine, threads stall on); image by image the products are small
        and single-threaded, and their sum is the same gradient. cuBLAS takes
        the one product as it is.
        """
        images = len(errors) // (self.output.shape[1] * self.output.shape[2])
        if self.weights.size <= SMALL_KERNEL_SIZE and images > 1 and not self.backend.on_device:
            per_image = self.xp.matmul(
                columns.reshape(images, -1, columns.shape[1]).transpose(0, 2, 1),
                errors.reshape(images, -1, errors.shape[1]),
            )
            gradient = per_image.sum(axis=0)
        else:
            gradient = columns.T @ errors
        if total is None:
            return gradient
        total += gradient
        return total

    def _column_error(self, errors, kernel, columns):
        """dY · W^T for one chunk, in storage the layer keeps (it is as large as the chunk's columns)."""
        column_error = self._scratch("column_error", columns.shape, columns.dtype)
        return self.xp.matmul(errors, kernel.T, out=column_error)

    def _col2im_into(self, target, column_error):
        """col2im of one chunk's column error, written into ``target`` (its images of dE/dX)."""
        written = self.backend.col2im(column_error, target.shape, self.filter_shape,
                                      self.stride, self.padding, out=target)
        if written is not target:  # a backend that could not write into target
            target[...] = written

    def _sum_rows(self, errors):
        """The sum of the rows of ``errors``, as a row of ones times them.

        ``errors.sum(axis=0)`` walks the rows with a strided inner loop and
        took 3.4 ms on the standard CNN's first layer, this product 0.7.
        """
        ones = self._scratch_storage.get("ones")
        if ones is None or ones.size < len(errors) or ones.dtype != errors.dtype:
            ones = self._scratch_storage["ones"] = self.xp.ones(len(errors), dtype=errors.dtype)  # filled once
        return ones[:len(errors)] @ errors

    # -- shared with forward ---------------------------------------------------

    def _chunks(self, input_shape):
        """``(start, stop)`` image ranges whose columns take about ``backend.column_chunk_bytes`` each."""
        n, oh, ow, _ = self.output_shape(input_shape)
        per_image = oh * ow * self.weights.shape[0] * self.weights.shape[1] * self.weights.shape[2]
        per_image *= self.weights.dtype.itemsize
        chunk_bytes = self.backend.column_chunk_bytes
        images = n if chunk_bytes is None else max(1, min(n, chunk_bytes // max(per_image, 1)))
        return [(start, min(start + images, n)) for start in range(0, n, images)]

    def _make_columns(self, input_data, start, stop):
        """im2col of images ``start:stop``, in the layer's scratch buffer."""
        n, oh, ow, _ = self.output_shape(input_data[start:stop].shape)
        kh, kw, channels, _ = self.weights.shape
        out = self._scratch("columns", (n * oh * ow, kh * kw * channels), input_data.dtype)
        self._columns = self.backend.im2col(
            input_data[start:stop], self.filter_shape, self.stride, self.padding, out=out
        )
        self._columns_range = (start, stop)
        return self._columns

    def _scratch(self, name, shape, dtype):
        """An array of ``shape`` over storage the layer keeps for ``name``, even without ``reuse_buffers``.

        The columns and dY · W^T are the largest arrays of a step and never leave
        the layer: keeping their storage spares the page faults of a fresh
        allocation each step. A smaller chunk (the batch's last) takes the
        front of the storage.
        """
        size = 1
        for length in shape:
            size *= length
        storage = self._scratch_storage.get(name)
        if storage is None or storage.size < size or storage.dtype != dtype:
            storage = self._scratch_storage[name] = self.xp.empty(size, dtype=dtype)
        return storage[:size].reshape(shape)

    def extra_repr(self):
        parts = [f"{self.filters_count}", f"filter_shape={self.filter_shape}"]
        if self.padding != (0, 0):
            parts.append(f"padding={self.padding}")
        if self.stride != (1, 1):
            parts.append(f"stride={self.stride}")
        return ", ".join(parts + self.initializer_repr())
