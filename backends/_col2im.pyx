# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled CPU scatters for the NumPy backend: col2im and max-pool backward.

Both add into an NHWC ``images`` array that the caller zeroed, and skip the
positions that fall in the padding, so no padded buffer is needed. float32 and
float64 share one source through a fused type; the loops run without the GIL.
"""

ctypedef fused floating:
    float
    double


def col2im(const floating[:, ::1] columns, floating[:, :, :, ::1] images,
           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
           Py_ssize_t ph, Py_ssize_t pw):
    """images[n, r*sh - ph + i, q*sw - pw + j, c] += columns[(n*OH + r)*OW + q, (i*KW + j)*C + c]"""
    cdef Py_ssize_t n_images = images.shape[0]
    cdef Py_ssize_t height = images.shape[1]
    cdef Py_ssize_t width = images.shape[2]
    cdef Py_ssize_t channels = images.shape[3]
    cdef Py_ssize_t oh = (height + 2 * ph - kh) // sh + 1
    cdef Py_ssize_t ow = (width + 2 * pw - kw) // sw + 1
    cdef Py_ssize_t n, r, q, i, j, c, y, x, row, base
    if columns.shape[0] != n_images * oh * ow or columns.shape[1] != kh * kw * channels:
        raise ValueError(
            f"col2im: expected columns of shape {(n_images * oh * ow, kh * kw * channels)}, "
            f"got {(columns.shape[0], columns.shape[1])}")
    with nogil:
        for n in range(n_images):
            for r in range(oh):
                for q in range(ow):
                    row = (n * oh + r) * ow + q
                    for i in range(kh):
                        y = r * sh - ph + i
                        if y < 0 or y >= height:
                            continue
                        for j in range(kw):
                            x = q * sw - pw + j
                            if x < 0 or x >= width:
                                continue
                            base = (i * kw + j) * channels
                            for c in range(channels):
                                images[n, y, x, c] += columns[row, base + c]


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
