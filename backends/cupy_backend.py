"""The CuPy backend: GPU arrays, and CUDA kernels for the window operations.

Importing this module does not import CuPy. ``unavailable_reason()`` tries
once and keeps why the GPU cannot be used (no CuPy, no CUDA driver, no device,
no working kernel compiler), so that ``batchnet info`` can say so and asking
for the backend fails with that reason. Layers use ``xp = cupy`` exactly as
they use NumPy; im2col, col2im and pooling run the ElementwiseKernels of
:mod:`backends.cuda_kernels`, with the same layouts and results as
:class:`~backends.numpy_backend.NumpyBackend`.
"""

import functools

from backends import cuda_kernels
from backends.base import Backend, BackendUnavailable, column_geometry, reusable_buffer, window_geometry


@functools.lru_cache(maxsize=None)
def unavailable_reason():
    """Why CuPy cannot run here (no CuPy, no CUDA driver, no device), or ``None``."""
    try:
        import cupy
    except ImportError as error:
        if error.name == "cupy":
            return (
                "CuPy is not installed; install batchnet[gpu] (cupy-cuda12x), "
                "or the CuPy wheel for your CUDA version"
            )
        return f"CuPy is installed but failed to import ({error})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CUDA raises its own error types for a missing driver
        return f"no usable CUDA driver ({type(error).__name__}: {error})"
    if count == 0:
        return "CuPy found no CUDA device"
    try:
        # allocates, compiles (NVRTC) and launches a kernel: what every layer will need
        float((cupy.arange(4, dtype=cupy.float32) * 2).sum())
    except Exception as error:
        return f"CuPy cannot run a kernel on the GPU ({type(error).__name__}: {error})"
    return None


class CupyBackend(Backend):
    """GPU backend on CuPy's current device; its arrays are ``cupy.ndarray``."""

    name = "cupy"
    on_device = True
    # bounds the device memory of a convolution's columns (two such buffers per
    # conv layer): a 28x28x32 map's 3x3 columns take 7.4 GB at batch 8192 in one
    # chunk; chunks of 1 GiB still give cuBLAS products of millions of rows
    column_chunk_bytes = 1 << 30

    def __init__(self):
        reason = unavailable_reason()
        if reason is not None:
            raise BackendUnavailable(f"the cupy backend cannot run here: {reason}")
        import cupy

        self.xp = cupy
        # compiled on first call, then cached per device (and on disk) by CuPy
        self._compiled = {
            source.name: cupy.ElementwiseKernel(
                source.in_params, source.out_params, source.operation, source.name
            )
            for source in cuda_kernels.KERNELS
        }

    def asarray(self, array, dtype=None):
        return self.xp.asarray(array, dtype=dtype)

    def to_numpy(self, array):
        return self.xp.asnumpy(array)

    def synchronize(self):
        self.xp.cuda.Device().synchronize()

    def device(self):
        """The GPU this backend runs on (CuPy's current device), for ``batchnet info``."""
        cuda = self.xp.cuda
        device = cuda.Device()
        properties = cuda.runtime.getDeviceProperties(device.id)
        free, total = device.mem_info
        runtime = cuda.runtime.runtimeGetVersion()  # 1000 * major + 10 * minor
        return {
            "name": properties["name"].decode(),
            "compute capability": f"{properties['major']}.{properties['minor']}",
            "memory": f"{total / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free",
            "cuda runtime": f"{runtime // 1000}.{runtime % 1000 // 10}",
            "cupy": self.xp.__version__,
        }

    def kernels(self):
        return {
            "im2col": "cuda (a thread per column entry)",
            "col2im": "cuda gather (a thread per input element, no atomics)",
            "max_pool": "cuda (a thread per output element)",
            "max_pool_backward": "cuda gather (a thread per input element, no atomics)",
            "avg_pool": "cuda (a thread per output element)",
            "avg_pool_backward": "cuda gather (a thread per input element, no atomics)",
        }

    def _launch(self, source, inputs, outputs, input_shape, window, stride, padding):
        """Run ``source`` with one thread per element of ``outputs[0]`` (allocated by the caller)."""
        output_hw = window_geometry(input_shape, window, stride, padding)
        geometry = cuda_kernels.geometry_arguments(input_shape, output_hw, window, stride, padding)
        self._compiled[source.name](*inputs, *geometry, *outputs)

    def _contiguous(self, array):
        # raw kernel arguments are indexed linearly, in C order
        return self.xp.ascontiguousarray(array)

    def im2col(self, images, kernel_shape, stride, padding, out=None):
        n, _, _, channels = images.shape
        kh, kw = kernel_shape
        oh, ow = window_geometry(images.shape, kernel_shape, stride, padding)
        columns = reusable_buffer(self.xp, out, (n * oh * ow, kh * kw * channels), images.dtype)
        self._launch(cuda_kernels.IM2COL, (self._contiguous(images),), (columns,),
                     images.shape, kernel_shape, stride, padding)
        return columns

    def col2im(self, columns, input_shape, kernel_shape, stride, padding, out=None):
        column_geometry(columns, input_shape, kernel_shape, stride, padding)
        images = reusable_buffer(self.xp, out, tuple(input_shape), columns.dtype)
        self._launch(cuda_kernels.COL2IM, (self._contiguous(columns),), (images,),
                     input_shape, kernel_shape, stride, padding)
        return images

    def max_pool(self, images, pool_shape, stride, padding):
        n, _, _, channels = images.shape
        oh, ow = window_geometry(images.shape, pool_shape, stride, padding)
        output = self.xp.empty((n, oh, ow, channels), dtype=images.dtype)
        argmax = self.xp.empty((n, oh, ow, channels), dtype=self.xp.int32)
        self._launch(cuda_kernels.MAX_POOL, (self._contiguous(images), float("-inf")),
                     (output, argmax), images.shape, pool_shape, stride, padding)
        return output, argmax

    def max_pool_backward(self, output_error, argmax, input_shape, pool_shape, stride, padding):
        input_error = self.xp.empty(tuple(input_shape), dtype=output_error.dtype)
        argmax = self._contiguous(argmax.astype(self.xp.int32, copy=False))
        self._launch(cuda_kernels.MAX_POOL_BACKWARD, (self._contiguous(output_error), argmax),
                     (input_error,), input_shape, pool_shape, stride, padding)
        return input_error

    def avg_pool(self, images, pool_shape, stride, padding):
        n, _, _, channels = images.shape
        kh, kw = pool_shape
        oh, ow = window_geometry(images.shape, pool_shape, stride, padding)
        output = self.xp.empty((n, oh, ow, channels), dtype=images.dtype)
        scale = images.dtype.type(1.0 / (kh * kw))
        self._launch(cuda_kernels.AVG_POOL, (self._contiguous(images), scale), (output,),
                     images.shape, pool_shape, stride, padding)
        return output

    def avg_pool_backward(self, output_error, input_shape, pool_shape, stride, padding):
        kh, kw = pool_shape
        input_error = self.xp.empty(tuple(input_shape), dtype=output_error.dtype)
        scale = output_error.dtype.type(1.0 / (kh * kw))
        self._launch(cuda_kernels.AVG_POOL_BACKWARD, (self._contiguous(output_error), scale),
                     (input_error,), input_shape, pool_shape, stride, padding)
        return input_error
