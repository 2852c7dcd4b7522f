# Included by _cpu_kernels.pyx (one extension module): batch normalization over the columns
# of C-contiguous (M, F) rows (every axis of NHWC but the channels flattened into M).
# NumPy needs about seven passes over the rows forward and eight backward (one per
# operation, each writing a temporary or a buffer); these need two each. Column sums
# add blocks of 64 rows, summed in the data's type, into double totals. The loops walk raw row pointers with
# the F columns innermost, so that gcc vectorizes them across the columns.

from libc.math cimport sqrt


# rows summed in the data's own type before being added into the double totals: float32
# sums vectorize 4 or 8 wide where a double accumulator would convert every element first
# (the sums were compute-bound that way), and a block's rounding stays that of 64 terms
cdef Py_ssize_t SUM_BLOCK = 64


cdef void _column_moments(const floating* x, Py_ssize_t m, Py_ssize_t f, floating* shift,
                          floating* block_sums, floating* block_squares,
                          double* sums, double* squares) noexcept nogil:
    """Per column: the sum and the sum of squares of x - shift, shift = the first row."""
    cdef Py_ssize_t i, j, start, stop
    cdef const floating* row
    cdef floating d
    for j in range(f):
        shift[j] = x[j]
        sums[j] = 0
        squares[j] = 0
    start = 0
    while start < m:  # blocks of SUM_BLOCK rows (a C loop: range needs a literal step)
        stop = start + SUM_BLOCK if start + SUM_BLOCK < m else m
        for j in range(f):
            block_sums[j] = 0
            block_squares[j] = 0
        for i in range(start, stop):
            row = x + i * f
            for j in range(f):
                d = row[j] - shift[j]
                block_sums[j] += d
                block_squares[j] += d * d
        for j in range(f):
            sums[j] += block_sums[j]
            squares[j] += block_squares[j]
        start = stop


def batch_norm_forward(const floating[:, ::1] rows, const floating[::1] gamma, const floating[::1] beta,
                       double epsilon, floating[:, ::1] normalized, floating[:, ::1] output,
                       floating[::1] mean, floating[::1] variance, floating[::1] inverse_std):
    """Batch statistics, then normalized = (rows - mean) * inverse_std and output = normalized * gamma + beta

    mean and variance (biased: the mean of squared deviations) per column;
    inverse_std = 1 / sqrt(variance + epsilon). The sums are taken about the
    first row (shifted data), so that sum(d^2)/M - (sum(d)/M)^2 does not cancel
    away a small variance under a large mean.
    """
    cdef Py_ssize_t m = rows.shape[0], f = rows.shape[1]
    cdef Py_ssize_t i, j
    cdef double s, q
    cdef double* work
    cdef floating* centre
    cdef floating* inverse
    cdef floating* scale
    cdef floating* shift
    cdef floating* first
    cdef const floating* x
    cdef floating* x_hat
    cdef floating* y
    cdef floating value
    if m < 1 or f < 1:
        raise ValueError(f"batch_norm_forward: expected at least one row and one column, got rows of shape {(m, f)}")
    _expect_shape("batch_norm_forward", "normalized", (normalized.shape[0], normalized.shape[1]), (m, f))
    _expect_shape("batch_norm_forward", "output", (output.shape[0], output.shape[1]), (m, f))
    _expect_shape("batch_norm_forward", "gamma", (gamma.shape[0],), (f,))
    _expect_shape("batch_norm_forward", "beta", (beta.shape[0],), (f,))
    _expect_shape("batch_norm_forward", "mean", (mean.shape[0],), (f,))
    _expect_shape("batch_norm_forward", "variance", (variance.shape[0],), (f,))
    _expect_shape("batch_norm_forward", "inverse_std", (inverse_std.shape[0],), (f,))
    work = <double*> malloc(2 * f * sizeof(double) + 7 * f * sizeof(floating))
    if work == NULL:
        raise MemoryError()
    # per-column constants of the second pass, in buffers of their own (no aliasing with the outputs)
    centre = <floating*> (work + 2 * f)
    inverse = centre + f
    scale = inverse + f
    shift = scale + f
    first = shift + f
    with nogil:
        _column_moments(&rows[0, 0], m, f, first, first + f, first + 2 * f, work, work + f)
        for j in range(f):
            s = work[j] / m
            q = work[f + j] / m - s * s
            if q < 0:  # rounding: a variance is never negative
                q = 0
            mean[j] = centre[j] = <floating> (first[j] + s)
            variance[j] = <floating> q
            inverse_std[j] = inverse[j] = <floating> (1 / sqrt(q + epsilon))
            scale[j] = gamma[j]
            shift[j] = beta[j]
        for i in range(m):
            x = &rows[i, 0]
            x_hat = &normalized[i, 0]
            y = &output[i, 0]
            for j in range(f):
                value = (x[j] - centre[j]) * inverse[j]
                x_hat[j] = value
                y[j] = value * scale[j] + shift[j]
    free(work)


def batch_norm_backward(const floating[:, ::1] errors, const floating[:, ::1] normalized,
                        const floating[::1] scale, floating[::1] gamma_gradient, floating[::1] beta_gradient,
                        floating[:, ::1] input_error):
    """beta_gradient = sum(dy), gamma_gradient = sum(dy * xhat) per column; then, when input_error is
    given, input_error = scale * (dy - beta_gradient / M - xhat * gamma_gradient / M), scale = gamma * inverse_std

    (the input error of a pass normalized with its own batch's statistics).
    """
    cdef Py_ssize_t m = errors.shape[0], f = errors.shape[1]
    cdef Py_ssize_t i, j, start, stop
    cdef double* sums
    cdef double* products
    cdef floating* mean_error
    cdef floating* mean_product
    cdef floating* factor
    cdef const floating* dy
    cdef const floating* x_hat
    cdef floating* dx
    cdef bint with_input_error = input_error is not None
    if m < 1 or f < 1:
        raise ValueError(f"batch_norm_backward: expected at least one row and one column, got errors of shape {(m, f)}")
    _expect_shape("batch_norm_backward", "normalized", (normalized.shape[0], normalized.shape[1]), (m, f))
    _expect_shape("batch_norm_backward", "scale", (scale.shape[0],), (f,))
    _expect_shape("batch_norm_backward", "gamma_gradient", (gamma_gradient.shape[0],), (f,))
    _expect_shape("batch_norm_backward", "beta_gradient", (beta_gradient.shape[0],), (f,))
    if with_input_error:
        _expect_shape("batch_norm_backward", "input_error", (input_error.shape[0], input_error.shape[1]), (m, f))
    sums = <double*> malloc(2 * f * sizeof(double) + 3 * f * sizeof(floating))
    if sums == NULL:
        raise MemoryError()
    products = sums + f
    mean_error = <floating*> (products + f)
    mean_product = mean_error + f
    factor = mean_product + f
    with nogil:
        for j in range(f):
            sums[j] = 0
            products[j] = 0
        start = 0
        while start < m:  # blocks of SUM_BLOCK rows (a C loop: range needs a literal step)
            stop = start + SUM_BLOCK if start + SUM_BLOCK < m else m
            for j in range(f):
                mean_error[j] = 0  # the block's sums, before these buffers take the means
                mean_product[j] = 0
            for i in range(start, stop):
                dy = &errors[i, 0]
                x_hat = &normalized[i, 0]
                for j in range(f):
                    mean_error[j] += dy[j]
                    mean_product[j] += dy[j] * x_hat[j]
            for j in range(f):
                sums[j] += mean_error[j]
                products[j] += mean_product[j]
            start = stop
        for j in range(f):
            beta_gradient[j] = <floating> sums[j]
            gamma_gradient[j] = <floating> products[j]
            mean_error[j] = <floating> (sums[j] / m)
            mean_product[j] = <floating> (products[j] / m)
            factor[j] = scale[j]
        if with_input_error:
            for i in range(m):
                dy = &errors[i, 0]
                x_hat = &normalized[i, 0]
                dx = &input_error[i, 0]
                for j in range(f):
                    dx[j] = factor[j] * (dy[j] - mean_error[j] - x_hat[j] * mean_product[j])
    free(sums)
