# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled CPU kernels for the NumPy backend: im2col, col2im, max and average pooling, relu backward, batch norm.

Each walks the NHWC arrays once with the channel axis innermost (contiguous)
and treats the padding by bounds checks, so no padded copy of the input is
ever made. The scatters (col2im, max- and average-pool backward) add into an ``images``
array that the caller zeroed. float32 and float64 share one source through a
fused type; the loops run without the GIL.

Every window kernel starts from :func:`_windows`: the geometry of a window
sliding over the NHWC ``images``, checked, and then checks its other arrays
against it with :func:`_expect_shape`. The loops index without bounds checks,
so these checks are what keeps a wrong shape from writing out of bounds.

One extension module, three files: this one holds the shared geometry and
relu_backward; ``_conv_kernels.pxi`` im2col and col2im; ``_pool_kernels.pxi``
max and average pooling and their backward passes; ``_norm_kernels.pxi``
batch normalization's training passes.
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


# The window kernels share the geometry above; ``include`` keeps them in this one
# module (one import, one build) while each family reads in a file of its own.
include "_conv_kernels.pxi"
include "_pool_kernels.pxi"
include "_norm_kernels.pxi"
