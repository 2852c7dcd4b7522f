"""A sliding window's arguments as layers take them: ints or ``(rows, cols)`` pairs, checked.

Convolution and pooling (and their per-sample references) read ``kernel``,
``stride`` and ``padding`` the same way, and name themselves in the errors.
The window's output size and the shape checks an array kernel needs live
with the kernels, in :mod:`backends.base`; :func:`window_output_shape` asks
them and names the layer in their errors.
"""

from backends.base import window_geometry

# The kernels take window sizes as 32-bit ints (the CUDA kernels' int32; a C
# ssize_t on the CPU overflows at 2**63): larger ones are refused here, where
# the layer can say so, not as an OverflowError from inside a kernel.
MAX_WINDOW_ARGUMENT = 2**31 - 1

def pair(value, name, non_negative=True):
    """``value`` as a pair of ints: ``3 -> (3, 3)``, ``(1, 2) -> (1, 2)``; non-negative unless told."""
    if isinstance(value, (int,)) and not isinstance(value, bool):
        result = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        result = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{name}: expected an int or a pair of ints, got {value!r}")
    if non_negative and min(result) < 0:
        raise ValueError(f"{name}: expected non-negative values, got {value!r}")
    return result


def window_arguments(owner, kernel, stride, padding, kernel_name, padding_at_most_half=False):
    """A sliding window's ints-or-pairs, checked, as ``(rows, cols)`` pairs: kernel and stride
    at least 1, padding at least 0 (and at most half the kernel, for pooling: so that every
    window holds a real input), none above MAX_WINDOW_ARGUMENT. ``owner`` and ``kernel_name``
    name them in errors."""
    kernel_pair = pair(kernel, f"{owner} {kernel_name}", non_negative=False)
    stride_pair = pair(stride, f"{owner} stride", non_negative=False)
    padding_pair = pair(padding, f"{owner} padding")
    if min(stride_pair) < 1:
        raise ValueError(f"{owner}: stride must be at least 1, got {stride!r}")
    if min(kernel_pair) < 1:
        raise ValueError(f"{owner}: {kernel_name} must be at least 1x1, got {kernel!r}")
    for name, given, checked in ((kernel_name, kernel, kernel_pair), ("stride", stride, stride_pair),
                                 ("padding", padding, padding_pair)):
        if max(checked) > MAX_WINDOW_ARGUMENT:
            raise ValueError(f"{owner}: {name} must be at most {MAX_WINDOW_ARGUMENT} (2**31 - 1, "
                             f"the largest size the kernels take), got {given!r}")
    if padding_at_most_half:
        check_padding_at_most_half(owner, kernel_pair, padding_pair, kernel_name)
    return kernel_pair, stride_pair, padding_pair


def check_padding_at_most_half(owner, kernel, padding, kernel_name):
    """Pooling's rule: padding at most half the window, so that no window is all padding."""
    half = tuple(size // 2 for size in kernel)
    if any(p > h for p, h in zip(padding, half)):
        raise ValueError(
            f"{owner}: padding must be at most {half}, half the {kernel_name} {kernel}, got {padding}"
        )


def window_output_shape(owner, input_shape, kernel, stride, padding):
    """``(OH, OW)`` of the window over NHWC ``input_shape``; a window that does not fit names ``owner``."""
    try:
        return window_geometry(input_shape, kernel, stride, padding)
    except ValueError as error:
        raise ValueError(f"{owner}: {error}") from None
