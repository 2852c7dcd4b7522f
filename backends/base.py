"""The Backend interface: an array module plus the kernels layers need.

Layouts (see DESIGN.md): images are NHWC ``(N, H, W, C)``; im2col turns them
into ``(N*OH*OW, KH*KW*C)`` with the kernel offset ``(i, j)`` outer and the
channel inner, so that a conv weight ``(KH, KW, C, F)`` reshaped to
``(KH*KW*C, F)`` multiplies it directly.
"""


class BackendUnavailable(RuntimeError):
    """Raised when a backend is asked for on a machine where it cannot run."""


def output_size(size, kernel, stride, padding):
    """Floor-mode output length of a sliding window: ``(size + 2p - k) // s + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def window_geometry(input_shape, kernel_shape, stride, padding):
    """Checked ``(OH, OW)`` of a window of ``kernel_shape`` sliding over NHWC ``input_shape``."""
    _, height, width, _ = input_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_shape, stride, padding
    if sh < 1 or sw < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    if kh < 1 or kw < 1:
        raise ValueError(f"kernel shape must be at least 1x1, got {kernel_shape}")
    if kh > height + 2 * ph or kw > width + 2 * pw:
        raise ValueError(
            f"kernel {kh}x{kw} is larger than the padded input "
            f"{height + 2 * ph}x{width + 2 * pw} (input {height}x{width}, padding {padding})"
        )
    return output_size(height, kh, sh, ph), output_size(width, kw, sw, pw)


def column_geometry(columns, input_shape, kernel_shape, stride, padding):
    """Checked ``(OH, OW)`` for col2im: ``columns`` must be ``im2col``'s shape for ``input_shape``."""
    n, _, _, channels = input_shape
    kh, kw = kernel_shape
    oh, ow = window_geometry(input_shape, kernel_shape, stride, padding)
    if tuple(columns.shape) != (n * oh * ow, kh * kw * channels):
        raise ValueError(
            f"col2im: expected columns of shape {(n * oh * ow, kh * kw * channels)}, "
            f"got {tuple(columns.shape)}"
        )
    return oh, ow


def reusable_buffer(xp, out, shape, dtype):
    """``out`` when it is a C-contiguous ``xp`` array of ``shape`` and ``dtype``, else a new one."""
    if (out is not None and isinstance(out, xp.ndarray) and out.shape == tuple(shape)
            and out.dtype == dtype and out.flags.c_contiguous):
        return out
    return xp.empty(shape, dtype=dtype)


def column_sums(xp, rows):
    """The sum of each column of ``rows`` (M, F), as ones(M) @ rows.

    A matrix-vector product: on one core 8 times faster than ``rows.sum(axis=0)``
    for (25088, 32), whose axis-0 reduction NumPy runs a row at a time.
    """
    return xp.ones(rows.shape[:1], dtype=rows.dtype) @ rows


class Backend:
    """What a layer may ask of its array backend.

    ``xp`` is the NumPy-compatible array module; the methods below are the
    operations where a backend brings its own kernel. ``kernel_shape``,
    ``stride`` and ``padding`` are always pairs ``(rows, cols)``.
    """

    name = "abstract"
    xp = None
    # whether arrays live in a device's memory (reading one on the host is a transfer)
    on_device = False
    # a convolution makes its im2col columns a chunk of images at a time, each
    # chunk's columns about this many bytes; None: the whole batch at once
    column_chunk_bytes = None

    def asarray(self, array, dtype=None):
        """``array`` on this backend's device (no copy when already there)."""
        raise NotImplementedError

    def to_numpy(self, array):
        """``array`` as a NumPy array on the host."""
        raise NotImplementedError

    def synchronize(self):
        """Wait until queued device work is done (for timing)."""

    def kernels(self):
        """A dict naming the implementation in use for each kernel."""
        raise NotImplementedError

    def im2col(self, images, kernel_shape, stride, padding, out=None):
        """``(N, H, W, C) -> (N*OH*OW, KH*KW*C)``, zero padded.

        ``out`` is an earlier result that may be overwritten; it is used when
        its shape and dtype fit (see :func:`reusable_buffer`), else ignored.
        """
        raise NotImplementedError

    def col2im(self, columns, input_shape, kernel_shape, stride, padding, out=None):
        """Adjoint of :meth:`im2col`: sums each window's rows back into ``(N, H, W, C)``.

        Written into ``out`` when it fits (see :func:`reusable_buffer`).
        """
        raise NotImplementedError

    def max_pool(self, images, pool_shape, stride, padding):
        """Max over each window (padding counts as -inf): ``(output, argmax)``.

        ``argmax`` holds, per output element, the flat kernel offset
        ``i * KW + j`` of the first maximum.
        """
        raise NotImplementedError

    def max_pool_backward(self, output_error, argmax, input_shape, pool_shape, stride, padding):
        """Route each output's error to its argmax, summing where windows overlap."""
        raise NotImplementedError

    def relu_backward(self, inputs, output_error, out=None):
        """relu's input error: ``output_error`` where ``inputs > 0``, else 0 (a NaN input gives 0).

        Written into ``out`` when it fits (see :func:`reusable_buffer`).
        """
        input_error = reusable_buffer(self.xp, out, output_error.shape, output_error.dtype)
        input_error.fill(0)
        self.xp.copyto(input_error, output_error, where=inputs > 0)
        return input_error

    def batch_norm_forward(self, rows, gamma, beta, epsilon, normalized, output):
        """Normalize the columns of ``rows`` (M, F) with their own statistics; ``(mean, variance, inverse_std)``.

        ``variance`` is biased (the mean of squared deviations), ``inverse_std``
        ``1 / sqrt(variance + epsilon)``; writes ``normalized = (rows - mean) *
        inverse_std`` and ``output = normalized * gamma + beta`` into the given
        C-contiguous (M, F) arrays. One operation per line here, as any ``xp`` runs it.
        """
        xp, dtype = self.xp, rows.dtype
        count = dtype.type(rows.shape[0])
        mean = column_sums(xp, rows) / count
        xp.subtract(rows, mean, out=normalized)
        # the output buffer holds the squares until the affine step overwrites it
        variance = column_sums(xp, xp.square(normalized, out=output)) / count
        inverse_std = 1 / xp.sqrt(variance + dtype.type(epsilon))
        normalized *= inverse_std
        xp.multiply(normalized, gamma, out=output)
        output += beta
        return mean, variance, inverse_std

    def batch_norm_backward(self, errors, normalized, scale, input_error=None):
        """``(gamma_gradient, beta_gradient)``: ``sum(dy * xhat)`` and ``sum(dy)`` over the M rows of (M, F)
        ``errors`` dy and ``normalized`` xhat.

        With ``input_error`` (a C-contiguous (M, F) array), also the input error
        of a pass normalized with its own batch's statistics, written there:
        ``scale * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)``, ``scale = gamma * inverse_std``.
        """
        xp = self.xp
        product = xp.multiply(errors, normalized, out=input_error)
        beta_gradient = column_sums(xp, errors)
        gamma_gradient = column_sums(xp, product)
        if input_error is not None:
            rows = errors.dtype.type(errors.shape[0])
            xp.multiply(normalized, gamma_gradient / rows, out=input_error)
            input_error += beta_gradient / rows
            xp.subtract(errors, input_error, out=input_error)
            input_error *= scale
        return gamma_gradient, beta_gradient

    def avg_pool(self, images, pool_shape, stride, padding):
        """Mean over each window, zero padding included in the count."""
        raise NotImplementedError

    def avg_pool_backward(self, output_error, input_shape, pool_shape, stride, padding):
        """Spread each output's error evenly over its window."""
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"
