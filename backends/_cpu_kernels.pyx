# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled CPU kernels for the NumPy backend: im2col, col2im, max and average pooling, relu backward.

Each walks the NHWC arrays once with the channel axis innermost (contiguous)
and treats the padding by bounds checks, so no padded copy of the input is
ever made. The scatters (col2im, max- and average-pool backward) add into an ``images``
array that the caller zeroed. float32 and float64 share one source through a
fused type; the loops run without the GIL.

Every window kernel starts from :func:`_windows`: the geometry of a window
sliding over the NHWC ``images``, checked, and then checks its other arrays
against it with :func:`_expect_shape`. The loops index without bounds checks,
so these checks are what keeps a wrong shape from writing out of bounds.
"""

from libc.stdlib cimport free, malloc
from libc.string cimport memset

ctypedef fused floating:
    float
    double


cdef struct Windows:
    # the images (N, H, W, C) and the (OH, OW) windows over them; each kernel
    # copies the fields into locals before its loops, which gcc keeps in registers
    Py_ssize_t n_images, height, width, channels, oh, ow


cdef Windows _windows(str kernel, Py_ssize_t n_images, Py_ssize_t height, Py_ssize_t width,
                      Py_ssize_t channels, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                      Py_ssize_t ph, Py_ssize_t pw) except *:
    """The floor-mode geometry of a KHxKW window, stride (sh, sw), padding (ph, pw), over NHWC images.

    The sizes come by value, never as a memoryview's ``shape`` pointer: a
    memoryview whose address escapes must be reloaded after every store and
    memset in the loops (im2col ran 25-35% more instructions).
    """
    cdef Windows windows
    windows.n_images = n_images
    windows.height = height
    windows.width = width
    windows.channels = channels
    # C division truncates and a zero stride traps: rule both out before dividing
    if kh < 1 or kw < 1 or sh < 1 or sw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"{kernel}: expected a window and stride of at least 1x1 and padding of at least 0, "
                         f"got window {(kh, kw)}, stride {(sh, sw)}, padding {(ph, pw)}")
    if kh > windows.height + 2 * ph or kw > windows.width + 2 * pw:
        raise ValueError(f"{kernel}: window {kh}x{kw} is larger than the padded input "
                         f"{windows.height + 2 * ph}x{windows.width + 2 * pw}")
    windows.oh = (windows.height + 2 * ph - kh) // sh + 1
    windows.ow = (windows.width + 2 * pw - kw) // sw + 1
    return windows


cdef int _expect_shape(str kernel, str name, tuple shape, tuple expected) except -1:
    """Raise a ValueError naming ``kernel``, ``name``, the expected and the actual shape, when they differ."""
    if shape != expected:
        raise ValueError(f"{kernel}: expected {name} of shape {expected}, got {shape}")
    return 0


cdef int _column_ranges(Py_ssize_t kw, Py_ssize_t sw, Py_ssize_t pw, Py_ssize_t width,
                        Py_ssize_t ow, Py_ssize_t* first, Py_ssize_t* last) nogil:
    """For each kernel column j: the windows q in [first[j], last[j]) with 0 <= q*sw - pw + j < width."""
    cdef Py_ssize_t j
    for j in range(kw):
        first[j] = (pw - j + sw - 1) // sw if pw > j else 0
        last[j] = (width - 1 + pw - j) // sw + 1 if width - 1 + pw >= j else 0
        if last[j] > ow:
            last[j] = ow
        if first[j] > last[j]:
            first[j] = last[j]
    return 0


def col2im(const floating[:, ::1] columns, floating[:, :, :, ::1] images,
           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
           Py_ssize_t ph, Py_ssize_t pw):
    """images[n, r*sh - ph + i, q*sw - pw + j, c] += columns[(n*OH + r)*OW + q, (i*KW + j)*C + c]

    The window column q is the innermost loop but for the channels:
    consecutive adds then land on different pixels. With q outside the kernel
    offsets, neighbouring windows add into the same pixel back to back and
    each add waits for the last store.
    """
    cdef Windows windows = _windows("col2im", images.shape[0], images.shape[1], images.shape[2], images.shape[3],
                                       kh, kw, sh, sw, ph, pw)
    cdef Py_ssize_t n_images = windows.n_images, height = windows.height, width = windows.width
    cdef Py_ssize_t channels = windows.channels, oh = windows.oh, ow = windows.ow
    cdef Py_ssize_t row_stride = kh * kw * channels
    cdef Py_ssize_t n, r, q, i, j, c, y
    cdef const floating* column
    cdef floating* pixel
    cdef Py_ssize_t* first
    cdef Py_ssize_t* last
    _expect_shape("col2im", "columns", (columns.shape[0], columns.shape[1]), (n_images * oh * ow, row_stride))
    if columns.shape[0] == 0 or row_stride == 0:
        return
    first = <Py_ssize_t*> malloc(2 * kw * sizeof(Py_ssize_t))
    if first == NULL:
        raise MemoryError()
    last = first + kw
    with nogil:
        _column_ranges(kw, sw, pw, width, ow, first, last)
        for n in range(n_images):
            for r in range(oh):
                for i in range(kh):
                    y = r * sh - ph + i
                    if y < 0 or y >= height:
                        continue
                    pixel = &images[n, y, 0, 0]
                    for j in range(kw):
                        column = &columns[(n * oh + r) * ow, (i * kw + j) * channels]
                        for q in range(first[j], last[j]):
                            for c in range(channels):
                                pixel[(q * sw - pw + j) * channels + c] += column[q * row_stride + c]
    free(first)


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


def im2col(const floating[:, :, :, ::1] images, floating[:, ::1] columns,
           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
           Py_ssize_t ph, Py_ssize_t pw):
    """columns[(n*OH + r)*OW + q, (i*KW + j)*C + c] = images[n, r*sh - ph + i, q*sw - pw + j, c], 0 in the padding

    In NHWC the pixels of one kernel row are contiguous: one copy per kernel
    row, zeros where it overhangs the image.
    """
    # im2col alone reads its sizes itself and calls _windows only to raise: with
    # the call on its path, gcc's code for the copy loop ran 35-55% more instructions
    cdef Py_ssize_t n_images = images.shape[0]
    cdef Py_ssize_t height = images.shape[1]
    cdef Py_ssize_t width = images.shape[2]
    cdef Py_ssize_t channels = images.shape[3]
    if (kh < 1 or kw < 1 or sh < 1 or sw < 1 or ph < 0 or pw < 0
            or kh > height + 2 * ph or kw > width + 2 * pw):
        _windows("im2col", n_images, height, width, channels, kh, kw, sh, sw, ph, pw)
    cdef Py_ssize_t oh = (height + 2 * ph - kh) // sh + 1
    cdef Py_ssize_t ow = (width + 2 * pw - kw) // sw + 1
    cdef Py_ssize_t row_length = kw * channels
    cdef Py_ssize_t n, r, q, i, y, x, k, before, length
    cdef floating* column
    cdef const floating* pixels
    cdef Py_ssize_t* first
    cdef Py_ssize_t* last
    _expect_shape("im2col", "columns", (columns.shape[0], columns.shape[1]), (n_images * oh * ow, kh * row_length))
    if columns.shape[0] == 0 or row_length == 0:
        return
    first = <Py_ssize_t*> malloc(2 * ow * sizeof(Py_ssize_t))
    if first == NULL:
        raise MemoryError()
    last = first + ow
    with nogil:
        # the kernel columns [first[q], last[q]) of window q lie inside the image
        for q in range(ow):
            x = q * sw - pw
            first[q] = min(-x, kw) if x < 0 else 0
            last[q] = max(width - x, first[q]) if x + kw > width else kw
        for n in range(n_images):
            for r in range(oh):
                for q in range(ow):
                    x = q * sw - pw
                    before = first[q] * channels
                    length = last[q] * channels - before
                    column = &columns[(n * oh + r) * ow + q, 0]
                    for i in range(kh):
                        y = r * sh - ph + i
                        if y < 0 or y >= height:
                            memset(column, 0, row_length * sizeof(floating))
                        else:
                            pixels = &images[n, y, x + first[q], 0]
                            if before:
                                memset(column, 0, before * sizeof(floating))
                            for k in range(length):
                                column[before + k] = pixels[k]
                            if before + length < row_length:
                                memset(column + before + length, 0,
                                       (row_length - before - length) * sizeof(floating))
                        column += row_length
    free(first)


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


def relu_backward(const floating[::1] inputs, const floating[::1] output_error,
                  floating[::1] input_error):
    """input_error = output_error where inputs > 0, else 0 (relu's derivative times the error)

    One pass and no temporary, where ``(x > 0).astype(dtype) * g`` makes a
    boolean and a float array first. A NaN input gets 0, as ``x > 0`` does.
    """
    cdef Py_ssize_t size = inputs.shape[0]
    cdef Py_ssize_t i
    cdef floating value, zero = 0
    if output_error.shape[0] != size or input_error.shape[0] != size:
        raise ValueError("relu_backward: inputs, output_error and input_error sizes differ")
    with nogil:
        for i in range(size):
            # both operands loaded first: the select then compiles to a blend,
            # not a branch that mispredicts on half of the elements
            value = output_error[i]
            input_error[i] = value if inputs[i] > 0 else zero


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
