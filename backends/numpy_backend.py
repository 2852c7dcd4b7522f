"""The NumPy backend: CPU arrays, with compiled Cython kernels when built.

im2col, col2im, max and average pooling (forward and backward) and relu's
backward use the Cython extension ``backends._cpu_kernels`` when it was built: one
pass over the data, no padded copy. The fallback loops only over the KH*KW
kernel offsets, each one strided slice of the whole batch
(Chainer's approach): Python overhead is per offset, never per pixel, and
never ``np.add.at``.
"""

import os

import numpy as np

from backends.base import Backend, column_geometry, reusable_buffer, window_geometry

try:
    from backends import _cpu_kernels as _compiled
except ImportError as error:  # the extension is optional: the fallback below is exact
    _compiled = None
    _compiled_import_error = str(error)
else:
    _compiled_import_error = None


def extension_unavailable_reason():
    """Why the compiled kernels are not in use, or ``None`` when they are."""
    if _compiled is None:
        return f"backends._cpu_kernels is not built ({_compiled_import_error})"
    if os.environ.get("BATCHNET_DISABLE_EXT", "") not in ("", "0"):
        return "disabled by BATCHNET_DISABLE_EXT"
    return None


def _window(array, i, j, output_shape, stride):
    """The strided slice of ``array`` that kernel offset ``(i, j)`` sees, over all windows."""
    (oh, ow), (sh, sw) = output_shape, stride
    return array[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :]


def _pad(images, padding, value):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return images
    return np.pad(images, ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=value)


class NumpyBackend(Backend):
    """CPU backend. ``use_extension=None`` uses the Cython kernels when available."""

    name = "numpy"
    xp = np
    # a chunk's columns are written, multiplied and (backward) scattered while
    # they are in the core's cache (2 MiB of L2 here); batch-sized columns went
    # to memory and back: the standard CNN (conv32-pool-conv64-pool-fc128-fc10,
    # benchmarks/compare_torch.py) trained 6-11% slower at 1 thread, and its
    # second convolution's columns took 58 MB at batch 256
    column_chunk_bytes = 1 << 21

    def __init__(self, use_extension=None):
        reason = extension_unavailable_reason()
        if use_extension and _compiled is None:
            raise ImportError(
                f"{reason}; build it with `pip install -e .` (needs Cython and a C compiler)"
            )
        if use_extension is None:
            use_extension = reason is None
        self.use_extension = bool(use_extension)

    def asarray(self, array, dtype=None):
        return np.asarray(array, dtype=dtype)

    def to_numpy(self, array):
        return np.asarray(array)

    def kernels(self):
        if self.use_extension:
            return dict.fromkeys(
                ("im2col", "col2im", "max_pool", "max_pool_backward", "avg_pool", "avg_pool_backward",
                 "relu_backward", "batch_norm_forward", "batch_norm_backward"), "cython"
            )
        return {
            "im2col": "numpy (strided slice copy)",
            "col2im": "numpy (strided slice-add)",
            "max_pool": "numpy (elementwise max of strided slices)",
            "max_pool_backward": "numpy (strided slice-add)",
            "avg_pool": "numpy (sum of strided slices)",
            "avg_pool_backward": "numpy (strided slice-add)",
            "relu_backward": "numpy (boolean mask times the error)",
            "batch_norm_forward": "numpy (one operation per pass)",
            "batch_norm_backward": "numpy (one operation per pass)",
        }

    def im2col(self, images, kernel_shape, stride, padding, out=None):
        n, _, _, channels = images.shape
        kh, kw = kernel_shape
        oh, ow = window_geometry(images.shape, kernel_shape, stride, padding)
        if self.use_extension:
            columns = reusable_buffer(np, out, (n * oh * ow, kh * kw * channels), images.dtype)
            _compiled.im2col(np.ascontiguousarray(images), columns, kh, kw, *stride, *padding)
            return columns
        padded = _pad(images, padding, 0)
        columns = reusable_buffer(np, out, (n * oh * ow, kh * kw * channels), images.dtype)
        windows = columns.reshape(n, oh, ow, kh, kw, channels)
        for i in range(kh):
            for j in range(kw):
                windows[:, :, :, i, j, :] = _window(padded, i, j, (oh, ow), stride)
        return columns

    def col2im(self, columns, input_shape, kernel_shape, stride, padding, out=None):
        n, height, width, channels = input_shape
        kh, kw = kernel_shape
        oh, ow = column_geometry(columns, input_shape, kernel_shape, stride, padding)
        if self.use_extension:
            images = reusable_buffer(np, out, input_shape, columns.dtype)
            images.fill(0)
            _compiled.col2im(np.ascontiguousarray(columns), images, kh, kw, *stride, *padding)
            return images
        (ph, pw) = padding
        padded = np.zeros((n, height + 2 * ph, width + 2 * pw, channels), dtype=columns.dtype)
        windows = columns.reshape(n, oh, ow, kh, kw, channels)
        for i in range(kh):
            for j in range(kw):
                _window(padded, i, j, (oh, ow), stride)[...] += windows[:, :, :, i, j, :]
        if out is None and ph == 0 and pw == 0:
            return padded
        images = reusable_buffer(np, out, input_shape, columns.dtype)
        images[...] = padded[:, ph : ph + height, pw : pw + width, :]
        return images

    def max_pool(self, images, pool_shape, stride, padding):
        kh, kw = pool_shape
        oh, ow = window_geometry(images.shape, pool_shape, stride, padding)
        if self.use_extension:
            n, _, _, channels = images.shape
            output = np.empty((n, oh, ow, channels), dtype=images.dtype)
            argmax = np.empty((n, oh, ow, channels), dtype=np.int32)
            _compiled.max_pool(np.ascontiguousarray(images), output, argmax, kh, kw, *stride, *padding)
            return output, argmax
        padded = _pad(images, padding, -np.inf)
        output = _window(padded, 0, 0, (oh, ow), stride).copy()
        argmax = np.zeros(output.shape, dtype=np.int32)
        for offset in range(1, kh * kw):
            window = _window(padded, offset // kw, offset % kw, (oh, ow), stride)
            # strict ">" keeps the first maximum on ties, the rule the reference follows
            greater = window > output
            np.copyto(output, window, where=greater)
            np.copyto(argmax, offset, where=greater)
        return output, argmax

    def max_pool_backward(self, output_error, argmax, input_shape, pool_shape, stride, padding):
        n, height, width, channels = input_shape
        kh, kw = pool_shape
        oh, ow = window_geometry(input_shape, pool_shape, stride, padding)
        if self.use_extension and tuple(stride) == tuple(pool_shape) and tuple(padding) == (0, 0):
            # tiling windows: the kernel zeroes each band of rows as it goes,
            # so only the rows below the last window need zeros here
            input_error = np.empty(input_shape, dtype=output_error.dtype)
            _compiled.max_pool_backward_tiled(
                np.ascontiguousarray(output_error), np.ascontiguousarray(argmax), input_error, kh, kw
            )
            input_error[:, oh * kh:] = 0
            return input_error
        if self.use_extension:
            input_error = np.zeros(input_shape, dtype=output_error.dtype)
            _compiled.max_pool_backward(
                np.ascontiguousarray(output_error), np.ascontiguousarray(argmax),
                input_error, kh, kw, *stride, *padding,
            )
            return input_error
        ph, pw = padding
        padded = np.zeros((n, height + 2 * ph, width + 2 * pw, channels), dtype=output_error.dtype)
        zero = output_error.dtype.type(0)
        for offset in range(kh * kw):
            routed = np.where(argmax == offset, output_error, zero)
            _window(padded, offset // kw, offset % kw, (oh, ow), stride)[...] += routed
        return np.ascontiguousarray(padded[:, ph : ph + height, pw : pw + width, :])

    def relu_backward(self, inputs, output_error, out=None):
        """relu's input error: ``output_error`` where ``inputs > 0``, else 0 (into ``out`` if it fits)."""
        dtype = output_error.dtype
        if not (self.use_extension and inputs.dtype == dtype and dtype in (np.float32, np.float64)):
            return super().relu_backward(inputs, output_error, out)
        input_error = reusable_buffer(np, out, output_error.shape, dtype)
        _compiled.relu_backward(
            np.ascontiguousarray(inputs).reshape(-1),
            np.ascontiguousarray(output_error).reshape(-1),
            input_error.reshape(-1),
        )
        return input_error

    def batch_norm_forward(self, rows, gamma, beta, epsilon, normalized, output):
        if not self._compiled_for(rows, gamma, beta, normalized, output):
            return super().batch_norm_forward(rows, gamma, beta, epsilon, normalized, output)
        mean, variance, inverse_std = (np.empty(rows.shape[1], dtype=rows.dtype) for _ in range(3))
        _compiled.batch_norm_forward(rows, gamma, beta, float(epsilon), normalized, output, mean, variance, inverse_std)
        return mean, variance, inverse_std

    def batch_norm_backward(self, errors, normalized, scale, input_error=None):
        arrays = (errors, normalized, scale) + (() if input_error is None else (input_error,))
        if not self._compiled_for(*arrays):
            return super().batch_norm_backward(errors, normalized, scale, input_error)
        gamma_gradient, beta_gradient = (np.empty(errors.shape[1], dtype=errors.dtype) for _ in range(2))
        _compiled.batch_norm_backward(errors, normalized, scale, gamma_gradient, beta_gradient, input_error)
        return gamma_gradient, beta_gradient

    def _compiled_for(self, *arrays):
        """Whether the compiled kernels take these arrays: built, one float dtype, C-contiguous."""
        dtype = arrays[0].dtype
        return (self.use_extension and dtype in (np.float32, np.float64)
                and all(array.dtype == dtype and array.flags.c_contiguous for array in arrays))

    def avg_pool(self, images, pool_shape, stride, padding):
        kh, kw = pool_shape
        oh, ow = window_geometry(images.shape, pool_shape, stride, padding)
        if self.use_extension:
            n, _, _, channels = images.shape
            output = np.empty((n, oh, ow, channels), dtype=images.dtype)
            _compiled.avg_pool(np.ascontiguousarray(images), output, kh, kw, *stride, *padding)
            return output
        padded = _pad(images, padding, 0)
        output = _window(padded, 0, 0, (oh, ow), stride).copy()
        for offset in range(1, kh * kw):
            output += _window(padded, offset // kw, offset % kw, (oh, ow), stride)
        output *= output.dtype.type(1.0 / (kh * kw))
        return output

    def avg_pool_backward(self, output_error, input_shape, pool_shape, stride, padding):
        n, height, width, channels = input_shape
        kh, kw = pool_shape
        oh, ow = window_geometry(input_shape, pool_shape, stride, padding)
        if self.use_extension:
            input_error = np.zeros(input_shape, dtype=output_error.dtype)
            _compiled.avg_pool_backward(np.ascontiguousarray(output_error), input_error,
                                        kh, kw, *stride, *padding)
            return input_error
        ph, pw = padding
        share = output_error * output_error.dtype.type(1.0 / (kh * kw))
        padded = np.zeros((n, height + 2 * ph, width + 2 * pw, channels), dtype=output_error.dtype)
        for offset in range(kh * kw):
            _window(padded, offset // kw, offset % kw, (oh, ow), stride)[...] += share
        return np.ascontiguousarray(padded[:, ph : ph + height, pw : pw + width, :])
