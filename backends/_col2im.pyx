# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled CPU kernels for the NumPy backend: im2col, col2im and max pooling.

Each walks the NHWC arrays once with the channel axis innermost (contiguous)
and treats the padding by bounds checks, so no padded copy of the input is
ever made. The scatters (col2im, max-pool backward) add into an ``images``
array that the caller zeroed. float32 and float64 share one source through a
fused type; the loops run without the GIL.
"""

ctypedef fused floating:
    float
    double


def col2im(const floating[:, ::1] columns, floating[:, :, :, ::1] images,
           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
           Py_ssize_t ph, Py_ssize_t pw):
    """images[n, r*sh - ph + i, q*sw - pw + j, c] += columns[(n*OH + r)*OW + q, (i*KW + j)*C + c]

    The window column q is the innermost loop: consecutive adds then land on
    different pixels. With q outside the kernel offsets, neighbouring windows
    add into the same pixel back to back and each add waits for the last store.
    """
    cdef Py_ssize_t n_images = images.shape[0]
    cdef Py_ssize_t height = images.shape[1]
    cdef Py_ssize_t width = images.shape[2]
    cdef Py_ssize_t channels = images.shape[3]
    cdef Py_ssize_t oh = (height + 2 * ph - kh) // sh + 1
    cdef Py_ssize_t ow = (width + 2 * pw - kw) // sw + 1
    cdef Py_ssize_t row_stride = kh * kw * channels
    cdef Py_ssize_t n, r, q, i, j, c, y, first, last
    cdef const floating* column
    cdef floating* pixel
    if columns.shape[0] != n_images * oh * ow or columns.shape[1] != kh * kw * channels:
        raise ValueError(
            f"col2im: expected columns of shape {(n_images * oh * ow, kh * kw * channels)}, "
            f"got {(columns.shape[0], columns.shape[1])}")
    if columns.shape[0] == 0 or columns.shape[1] == 0:
        return
    with nogil:
        for n in range(n_images):
            for r in range(oh):
                for i in range(kh):
                    y = r * sh - ph + i
                    if y < 0 or y >= height:
                        continue
                    for j in range(kw):
                        # the windows q whose column j falls inside the image: 0 <= q*sw - pw + j < width
                        first = (pw - j + sw - 1) // sw if pw > j else 0
                        last = (width - 1 + pw - j) // sw + 1 if width - 1 + pw >= j else 0
                        if last > ow:
                            last = ow
                        column = &columns[(n * oh + r) * ow, (i * kw + j) * channels]
                        pixel = &images[n, y, 0, 0]
                        for q in range(first, last):
                            for c in range(channels):
                                pixel[(q * sw - pw + j) * channels + c] += column[q * row_stride + c]


def max_pool_backward(const floating[:, :, :, ::1] output_error, const int[:, :, :, ::1] argmax,
                      floating[:, :, :, ::1] images,
                      Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                      Py_ssize_t ph, Py_ssize_t pw):
    """images[n, r*sh - ph + k // KW, q*sw - pw + k % KW, c] += output_error[n, r, q, c], k = argmax"""
    cdef Py_ssize_t n_images = output_error.shape[0]
    cdef Py_ssize_t oh = output_error.shape[1]
    cdef Py_ssize_t ow = output_error.shape[2]
    cdef Py_ssize_t channels = output_error.shape[3]
    cdef Py_ssize_t height = images.shape[1]
    cdef Py_ssize_t width = images.shape[2]
    cdef Py_ssize_t n, r, q, c, y, x
    cdef int offset
    if (argmax.shape[0] != n_images or argmax.shape[1] != oh or argmax.shape[2] != ow
            or argmax.shape[3] != channels):
        raise ValueError("max_pool_backward: argmax and output_error shapes differ")
    with nogil:
        for n in range(n_images):
            for r in range(oh):
                for q in range(ow):
                    for c in range(channels):
                        offset = argmax[n, r, q, c]
                        y = r * sh - ph + offset // kw
                        x = q * sw - pw + offset % kw
                        # a maximum in the -inf padding cannot happen unless the
                        # whole window is padding, which window_geometry rules out
                        if 0 <= y < height and 0 <= x < width:
                            images[n, y, x, c] += output_error[n, r, q, c]


def im2col(const floating[:, :, :, ::1] images, floating[:, ::1] columns,
           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
           Py_ssize_t ph, Py_ssize_t pw):
    """columns[(n*OH + r)*OW + q, (i*KW + j)*C + c] = images[n, r*sh - ph + i, q*sw - pw + j, c], 0 in the padding"""
    cdef Py_ssize_t n_images = images.shape[0]
    cdef Py_ssize_t height = images.shape[1]
    cdef Py_ssize_t width = images.shape[2]
    cdef Py_ssize_t channels = images.shape[3]
    cdef Py_ssize_t oh = (height + 2 * ph - kh) // sh + 1
    cdef Py_ssize_t ow = (width + 2 * pw - kw) // sw + 1
    cdef Py_ssize_t n, r, q, i, y, x, first, last, k, length, row_length
    cdef floating* column
    cdef const floating* pixels
    if columns.shape[0] != n_images * oh * ow or columns.shape[1] != kh * kw * channels:
        raise ValueError(
            f"im2col: expected columns of shape {(n_images * oh * ow, kh * kw * channels)}, "
            f"got {(columns.shape[0], columns.shape[1])}")
    if columns.shape[0] == 0 or columns.shape[1] == 0:
        return
    row_length = kw * channels
    with nogil:
        for n in range(n_images):
            for r in range(oh):
                for q in range(ow):
                    x = q * sw - pw
                    # as in col2im: one contiguous copy per kernel row, zeros around it
                    first = min(-x, kw) if x < 0 else 0
                    last = width - x if x + kw > width else kw
                    if last < first:
                        last = first
                    length = (last - first) * channels
                    for i in range(kh):
                        y = r * sh - ph + i
                        column = &columns[(n * oh + r) * ow + q, i * row_length]
                        if y < 0 or y >= height:
                            for k in range(row_length):
                                column[k] = 0
                            continue
                        for k in range(first * channels):
                            column[k] = 0
                        pixels = &images[n, y, x + first, 0]
                        column += first * channels
                        for k in range(length):
                            column[k] = pixels[k]
                        for k in range(length, row_length - first * channels):
                            column[k] = 0


def max_pool(const floating[:, :, :, ::1] images, floating[:, :, :, ::1] output,
             int[:, :, :, ::1] argmax,
             Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
             Py_ssize_t ph, Py_ssize_t pw):
    """output[n, r, q, c] = max over the window (padding = -inf); argmax = offset i*KW + j of its first maximum"""
    cdef Py_ssize_t n_images = images.shape[0]
    cdef Py_ssize_t height = images.shape[1]
    cdef Py_ssize_t width = images.shape[2]
    cdef Py_ssize_t channels = images.shape[3]
    cdef Py_ssize_t oh = output.shape[1]
    cdef Py_ssize_t ow = output.shape[2]
    cdef Py_ssize_t n, r, q, c, y, x
    cdef int offset, greater
    cdef floating value, best
    cdef floating minus_infinity = -float("inf")
    cdef floating* maximum
    cdef int* position
    cdef const floating* pixel
    if (output.shape[0] != n_images or output.shape[3] != channels
            or oh != (height + 2 * ph - kh) // sh + 1 or ow != (width + 2 * pw - kw) // sw + 1
            or argmax.shape[0] != n_images or argmax.shape[1] != oh or argmax.shape[2] != ow
            or argmax.shape[3] != channels):
        raise ValueError("max_pool: output or argmax shape does not match the pooling geometry")
    if output.size == 0:
        return
    with nogil:
        for n in range(n_images):
            for r in range(oh):
                for q in range(ow):
                    maximum = &output[n, r, q, 0]
                    position = &argmax[n, r, q, 0]
                    # offset 0 seeds the running maximum, padding or not, as the
                    # strided-slice version does; a later offset replaces it only
                    # when strictly greater (the first maximum wins ties), which a
                    # padded position (-inf) never is
                    y = r * sh - ph
                    x = q * sw - pw
                    if 0 <= y < height and 0 <= x < width:
                        pixel = &images[n, y, x, 0]
                        for c in range(channels):
                            maximum[c] = pixel[c]
                            position[c] = 0
                    else:
                        for c in range(channels):
                            maximum[c] = minus_infinity
                            position[c] = 0
                    for offset in range(1, kh * kw):
                        y = r * sh - ph + offset // kw
                        x = q * sw - pw + offset % kw
                        if y < 0 or y >= height or x < 0 or x >= width:
                            continue
                        pixel = &images[n, y, x, 0]
                        # select by arithmetic, not a branch: on real data the
                        # comparison goes either way at random and mispredicts
                        for c in range(channels):
                            value = pixel[c]
                            best = maximum[c]
                            greater = value > best
                            maximum[c] = value if value > best else best
                            position[c] += greater * (offset - position[c])
