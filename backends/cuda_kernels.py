"""CUDA sources of the CuPy backend's kernels, as plain strings.

Each kernel is a ``cupy.ElementwiseKernel``: one thread per element of its
output, which it computes by reading raw (C-contiguous, linearly indexed)
inputs. The scatters of the backward passes (col2im, pooling backward) are
written as gathers: a thread owns one input element ``(n, y, x, c)`` and sums
the entries of every window that covers it, so there are no atomics and the
result does not depend on thread scheduling.

The operations use only the subset of C that NVRTC and a host C compiler both
accept (no CUDA built-ins, no helpers from a preamble), so the tests compile
these very strings on the CPU and check them against the NumPy backend before
a GPU ever runs them. Importing this module needs no CuPy.
"""

from typing import NamedTuple


class KernelSource(NamedTuple):
    """The four arguments of ``cupy.ElementwiseKernel(in_params, out_params, operation, name)``."""

    name: str
    in_params: str
    out_params: str
    operation: str


# The window geometry every kernel takes, in this order (see ``geometry_arguments``).
GEOMETRY_PARAMS = (
    "int32 height, int32 width, int32 channels, int32 out_height, int32 out_width, "
    "int32 kernel_height, int32 kernel_width, int32 stride_y, int32 stride_x, "
    "int32 pad_y, int32 pad_x"
)

# A thread that owns an output element (n, oy, ox, c) of an NHWC (N, OH, OW, C) array.
_OUTPUT_PIXEL = """
const int c = i % channels;
ptrdiff_t rest = i / channels;
const int ox = rest % out_width;
rest /= out_width;
const int oy = rest % out_height;
const ptrdiff_t n = rest / out_height;
"""

# A thread that owns an input element (n, y, x, c) of (N, H, W, C), and the range of
# windows covering it: oy * stride_y <= y + pad_y < oy * stride_y + kernel_height,
# i.e. oy from floor((y + pad_y - kernel_height) / stride_y) + 1 to floor((y + pad_y) / stride_y).
_INPUT_PIXEL_AND_WINDOWS = """
const int c = i % channels;
ptrdiff_t rest = i / channels;
const int x = rest % width + pad_x;
rest /= width;
const int y = rest % height + pad_y;
const ptrdiff_t n = rest / height;
const int oy_first = y < kernel_height ? 0 : (y - kernel_height) / stride_y + 1;
const int oy_last = y / stride_y < out_height ? y / stride_y : out_height - 1;
const int ox_first = x < kernel_width ? 0 : (x - kernel_width) / stride_x + 1;
const int ox_last = x / stride_x < out_width ? x / stride_x : out_width - 1;
"""

IM2COL = KernelSource(
    name="batchnet_im2col",
    in_params="raw T images, " + GEOMETRY_PARAMS,
    out_params="T columns",
    # columns (N*OH*OW, KH*KW*C): row (n, oy, ox), column (ky, kx, c), channel innermost
    operation="""
const int c = i % channels;
ptrdiff_t rest = i / channels;
const int kx = rest % kernel_width;
rest /= kernel_width;
const int ky = rest % kernel_height;
rest /= kernel_height;
const int ox = rest % out_width;
rest /= out_width;
const int oy = rest % out_height;
const ptrdiff_t n = rest / out_height;
const int y = oy * stride_y - pad_y + ky;
const int x = ox * stride_x - pad_x + kx;
columns = (0 <= y && y < height && 0 <= x && x < width)
    ? images[((n * height + y) * width + x) * channels + c]
    : (T)0;
""",
)

COL2IM = KernelSource(
    name="batchnet_col2im",
    in_params="raw T columns, " + GEOMETRY_PARAMS,
    out_params="T images",
    operation=_INPUT_PIXEL_AND_WINDOWS + """
T total = (T)0;
for (int oy = oy_first; oy <= oy_last; ++oy) {
    const int ky = y - oy * stride_y;
    for (int ox = ox_first; ox <= ox_last; ++ox) {
        const int kx = x - ox * stride_x;
        const ptrdiff_t row = (n * out_height + oy) * out_width + ox;
        total += columns[((row * kernel_height + ky) * kernel_width + kx) * channels + c];
    }
}
images = total;
""",
)

MAX_POOL = KernelSource(
    name="batchnet_max_pool",
    # padding_value is -inf: passed in, because NVRTC and C spell infinity differently
    in_params="raw T images, T padding_value, " + GEOMETRY_PARAMS,
    out_params="T output, int32 argmax",
    operation=_OUTPUT_PIXEL + """
T best = padding_value;
int best_offset = 0;
for (int offset = 0; offset < kernel_height * kernel_width; ++offset) {
    const int y = oy * stride_y - pad_y + offset / kernel_width;
    const int x = ox * stride_x - pad_x + offset % kernel_width;
    const T value = (0 <= y && y < height && 0 <= x && x < width)
        ? images[((n * height + y) * width + x) * channels + c]
        : padding_value;
    /* offset 0 is taken as it is (even NaN), then a strict ">" keeps the first
       maximum on ties: the NumPy backend's rule */
    if (offset == 0 || value > best) {
        best = value;
        best_offset = offset;
    }
}
output = best;
argmax = best_offset;
""",
)

MAX_POOL_BACKWARD = KernelSource(
    name="batchnet_max_pool_backward",
    in_params="raw T output_error, raw int32 argmax, " + GEOMETRY_PARAMS,
    out_params="T input_error",
    operation=_INPUT_PIXEL_AND_WINDOWS + """
T total = (T)0;
for (int oy = oy_first; oy <= oy_last; ++oy) {
    const int ky = y - oy * stride_y;
    for (int ox = ox_first; ox <= ox_last; ++ox) {
        const int kx = x - ox * stride_x;
        const ptrdiff_t window = ((n * out_height + oy) * out_width + ox) * channels + c;
        if (argmax[window] == ky * kernel_width + kx) {
            total += output_error[window];
        }
    }
}
input_error = total;
""",
)

AVG_POOL = KernelSource(
    name="batchnet_avg_pool",
    in_params="raw T images, T scale, " + GEOMETRY_PARAMS,
    out_params="T output",
    # padding contributes zeros, so it is skipped but still counted by scale = 1 / (KH*KW)
    operation=_OUTPUT_PIXEL + """
T total = (T)0;
for (int offset = 0; offset < kernel_height * kernel_width; ++offset) {
    const int y = oy * stride_y - pad_y + offset / kernel_width;
    const int x = ox * stride_x - pad_x + offset % kernel_width;
    if (0 <= y && y < height && 0 <= x && x < width) {
        total += images[((n * height + y) * width + x) * channels + c];
    }
}
output = total * scale;
""",
)

AVG_POOL_BACKWARD = KernelSource(
    name="batchnet_avg_pool_backward",
    in_params="raw T output_error, T scale, " + GEOMETRY_PARAMS,
    out_params="T input_error",
    operation=_INPUT_PIXEL_AND_WINDOWS + """
T total = (T)0;
for (int oy = oy_first; oy <= oy_last; ++oy) {
    for (int ox = ox_first; ox <= ox_last; ++ox) {
        total += output_error[((n * out_height + oy) * out_width + ox) * channels + c] * scale;
    }
}
input_error = total;
""",
)

KERNELS = (IM2COL, COL2IM, MAX_POOL, MAX_POOL_BACKWARD, AVG_POOL, AVG_POOL_BACKWARD)


def geometry_arguments(input_shape, output_hw, kernel_shape, stride, padding):
    """The values of ``GEOMETRY_PARAMS``, in order, for an NHWC ``input_shape``."""
    _, height, width, channels = input_shape
    return (height, width, channels, *output_hw, *kernel_shape, *stride, *padding)
