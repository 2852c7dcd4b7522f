# Included by _cpu_kernels.pyx (one extension module): the convolution's window copies.
# im2col gathers every window of the NHWC images into a row of ``columns``; col2im
# scatters such rows back, adding where windows overlap (the input error of a conv).

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
