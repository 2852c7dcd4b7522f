"""The backend kernels alone: im2col / col2im and the max-pool scatter, Cython vs pure NumPy.

On a batch of 128, on the convolutions of the tutorial's CNN and of the
standard CNN (see ``common.CONVOLUTIONS``) and the pools after them. The
compiled kernels must beat the pure-NumPy fallback to earn their place.
"""

from batchnet.layers.geometry import pair

from .common import BATCH_SIZE, CONVOLUTIONS, POOLS, kernel_backend, random_inputs

KERNELS = ["numpy-cython", "numpy-fallback", "cupy"]
DTYPES = ["float32", "float64"]


class ConvolutionKernels:
    """im2col ``(N, H, W, C) -> (N*OH*OW, KH*KW*C)`` and its adjoint col2im."""

    params = [KERNELS, list(CONVOLUTIONS), DTYPES]
    param_names = ["kernels", "shape", "dtype"]

    def setup(self, kernels, shape, dtype):
        self.backend = kernel_backend(kernels)
        sample_shape, options = CONVOLUTIONS[shape]
        self.geometry = tuple(pair(options[name], name) for name in ("filter_shape", "stride", "padding"))
        self.images = self.backend.asarray(random_inputs((BATCH_SIZE,) + sample_shape, dtype))
        self.columns = self.backend.im2col(self.images, *self.geometry)
        self.backend.synchronize()

    def time_im2col(self, kernels, shape, dtype):
        self.backend.im2col(self.images, *self.geometry)
        self.backend.synchronize()

    def time_col2im(self, kernels, shape, dtype):
        self.backend.col2im(self.columns, self.images.shape, *self.geometry)
        self.backend.synchronize()


class MaxPoolKernels:
    """Max pooling 2x2 / stride 2: the forward (with argmax) and the error scatter."""

    params = [KERNELS, list(POOLS), DTYPES]
    param_names = ["kernels", "shape", "dtype"]

    def setup(self, kernels, shape, dtype):
        self.backend = kernel_backend(kernels)
        self.geometry = ((2, 2), (2, 2), (0, 0))
        self.images = self.backend.asarray(random_inputs((BATCH_SIZE,) + POOLS[shape], dtype))
        output, self.argmax = self.backend.max_pool(self.images, *self.geometry)
        self.output_error = self.backend.asarray(random_inputs(output.shape, dtype))
        self.backend.synchronize()

    def time_max_pool(self, kernels, shape, dtype):
        self.backend.max_pool(self.images, *self.geometry)
        self.backend.synchronize()

    def time_max_pool_backward(self, kernels, shape, dtype):
        self.backend.max_pool_backward(self.output_error, self.argmax, self.images.shape,
                                       *self.geometry)
        self.backend.synchronize()
