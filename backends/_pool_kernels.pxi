# Included by _cpu_kernels.pyx (one extension module): max and average pooling, forward
# and backward, straight over the NHWC windows (no im2col copy).

def max_pool(const floating[:, :, :, ::1] images, floating[:, :, :, ::1] output,
             int[:, :, :, ::1] argmax,
             Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
             Py_ssize_t ph, Py_ssize_t pw):
    """output[n, r, q, c] = max over the window (padding = -inf); argmax = offset i*KW + j of its first maximum"""
    cdef Windows windows = _windows("max_pool", images.shape[0], images.shape[1], images.shape[2], images.shape[3],
                                       kh, kw, sh, sw, ph, pw)
    cdef Py_ssize_t n_images = windows.n_images, height = windows.height, width = windows.width
    cdef Py_ssize_t channels = windows.channels, oh = windows.oh, ow = windows.ow
    cdef tuple output_shape = (n_images, oh, ow, channels)
    cdef Py_ssize_t n, r, q, c, y, x
    cdef int offset, greater
    cdef floating value, best
    cdef floating minus_infinity = -float("inf")
    cdef floating* maximum
    cdef int* position
    cdef const floating* pixel
    _expect_shape("max_pool", "output", (output.shape[0], output.shape[1],
                  output.shape[2], output.shape[3]), output_shape)
    _expect_shape("max_pool", "argmax", (argmax.shape[0], argmax.shape[1],
                  argmax.shape[2], argmax.shape[3]), output_shape)
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


def max_pool_backward(const floating[:, :, :, ::1] output_error, const int[:, :, :, ::1] argmax,
                      floating[:, :, :, ::1] images,
                      Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                      Py_ssize_t ph, Py_ssize_t pw):
    """images[n, r*sh - ph + k // KW, q*sw - pw + k % KW, c] += output_error[n, r, q, c], k = argmax"""
    cdef Windows windows = _windows("max_pool_backward", images.shape[0], images.shape[1], images.shape[2], images.shape[3],
                                       kh, kw, sh, sw, ph, pw)
    cdef Py_ssize_t n_images = windows.n_images, height = windows.height, width = windows.width
    cdef Py_ssize_t channels = windows.channels, oh = windows.oh, ow = windows.ow
    cdef tuple output_shape = (n_images, oh, ow, channels)
    cdef Py_ssize_t n, r, q, c, y, x
    cdef int offset
    _expect_shape("max_pool_backward", "output_error", (output_error.shape[0], output_error.shape[1],
                  output_error.shape[2], output_error.shape[3]), output_shape)
    _expect_shape("max_pool_backward", "argmax", (argmax.shape[0], argmax.shape[1],
                  argmax.shape[2], argmax.shape[3]), output_shape)
    with nogil:
        for n in range(n_images):
            for r in range(oh):
                for q in range(ow):
                    for c in range(channels):
                        offset = argmax[n, r, q, c]
                        y = r * sh - ph + offset // kw
                        x = q * sw - pw + offset % kw
                        # a maximum in the -inf padding cannot happen unless the
                        # whole window is padding, which the pooling layer rules out;
                        # the test also keeps an argmax from elsewhere in bounds
                        if 0 <= y < height and 0 <= x < width:
                            images[n, y, x, c] += output_error[n, r, q, c]


def max_pool_backward_tiled(const floating[:, :, :, ::1] output_error, const int[:, :, :, ::1] argmax,
                            floating[:, :, :, ::1] images, Py_ssize_t kh, Py_ssize_t kw):
    """max_pool_backward for windows that tile the input (stride = pool, no padding).

    Each band of ``kh`` input rows is zeroed while it is in cache, then each
    window's error is stored at its maximum: ``images`` need not be zeroed
    beforehand, except the rows below the last band, which the caller clears.
    """
    cdef Windows windows = _windows("max_pool_backward_tiled", images.shape[0], images.shape[1], images.shape[2], images.shape[3],
                                       kh, kw, kh, kw, 0, 0)
    cdef Py_ssize_t n_images = windows.n_images, height = windows.height, width = windows.width
    cdef Py_ssize_t channels = windows.channels, oh = windows.oh, ow = windows.ow
    cdef tuple output_shape = (n_images, oh, ow, channels)
    cdef Py_ssize_t band = kh * width * channels
    cdef Py_ssize_t n, r, q, c, k
    cdef const floating* error
    cdef const int* position
    cdef floating* pixels
    cdef Py_ssize_t* shifts
    _expect_shape("max_pool_backward_tiled", "output_error", (output_error.shape[0], output_error.shape[1],
                  output_error.shape[2], output_error.shape[3]), output_shape)
    _expect_shape("max_pool_backward_tiled", "argmax", (argmax.shape[0], argmax.shape[1],
                  argmax.shape[2], argmax.shape[3]), output_shape)
    if output_error.size == 0:
        return
    # where kernel offset k = i*KW + j lies, relative to its window's first element
    shifts = <Py_ssize_t*> malloc(kh * kw * sizeof(Py_ssize_t))
    if shifts == NULL:
        raise MemoryError()
    for k in range(kh * kw):
        shifts[k] = ((k // kw) * width + k % kw) * channels
    with nogil:
        for n in range(n_images):
            for r in range(oh):
                pixels = &images[n, r * kh, 0, 0]
                memset(pixels, 0, band * sizeof(floating))
                for q in range(ow):
                    error = &output_error[n, r, q, 0]
                    position = &argmax[n, r, q, 0]
                    for c in range(channels):
                        k = position[c]
                        # an argmax from elsewhere must not write out of bounds
                        if 0 <= k < kh * kw:
                            pixels[q * kw * channels + shifts[k] + c] = error[c]
    free(shifts)


def avg_pool(const floating[:, :, :, ::1] images, floating[:, :, :, ::1] output,
             Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
             Py_ssize_t ph, Py_ssize_t pw):
    """output[n, r, q, c] = sum of the window's inputs / (KH*KW): the zero padding counts towards the mean"""
    cdef Windows windows = _windows("avg_pool", images.shape[0], images.shape[1], images.shape[2], images.shape[3],
                                       kh, kw, sh, sw, ph, pw)
    cdef Py_ssize_t n_images = windows.n_images, height = windows.height, width = windows.width
    cdef Py_ssize_t channels = windows.channels, oh = windows.oh, ow = windows.ow
    cdef Py_ssize_t n, r, q, c, i, j, y, x
    cdef floating scale = 1.0 / (kh * kw)
    cdef floating* mean
    cdef const floating* pixel
    _expect_shape("avg_pool", "output", (output.shape[0], output.shape[1],
                  output.shape[2], output.shape[3]), (n_images, oh, ow, channels))
    if output.size == 0:
        return
    with nogil:
        for n in range(n_images):
            for r in range(oh):
                for q in range(ow):
                    mean = &output[n, r, q, 0]
                    for c in range(channels):
                        mean[c] = 0
                    for i in range(kh):
                        y = r * sh - ph + i
                        if y < 0 or y >= height:
                            continue
                        for j in range(kw):
                            x = q * sw - pw + j
                            if x < 0 or x >= width:
                                continue
                            pixel = &images[n, y, x, 0]
                            for c in range(channels):
                                mean[c] += pixel[c]
                    for c in range(channels):
                        mean[c] *= scale


def avg_pool_backward(const floating[:, :, :, ::1] output_error, floating[:, :, :, ::1] images,
                      Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                      Py_ssize_t ph, Py_ssize_t pw):
    """images[n, y, x, c] += output_error[n, r, q, c] / (KH*KW) for every window (r, q) holding (y, x)

    Adds into ``images``, which the caller zeroed.
    """
    cdef Windows windows = _windows("avg_pool_backward", images.shape[0], images.shape[1], images.shape[2], images.shape[3],
                                       kh, kw, sh, sw, ph, pw)
    cdef Py_ssize_t n_images = windows.n_images, height = windows.height, width = windows.width
    cdef Py_ssize_t channels = windows.channels, oh = windows.oh, ow = windows.ow
    cdef Py_ssize_t n, r, q, c, i, j, y, x
    cdef floating scale = 1.0 / (kh * kw)
    cdef const floating* error
    cdef floating* pixel
    _expect_shape("avg_pool_backward", "output_error", (output_error.shape[0], output_error.shape[1],
                  output_error.shape[2], output_error.shape[3]), (n_images, oh, ow, channels))
    if output_error.size == 0:
        return
    with nogil:
        for n in range(n_images):
            for r in range(oh):
                for q in range(ow):
                    error = &output_error[n, r, q, 0]
                    for i in range(kh):
                        y = r * sh - ph + i
                        if y < 0 or y >= height:
                            continue
                        for j in range(kw):
                            x = q * sw - pw + j
                            if x < 0 or x >= width:
                                continue
                            pixel = &images[n, y, x, 0]
                            for c in range(channels):
                                pixel[c] += error[c] * scale
