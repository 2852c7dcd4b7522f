"""What the benchmark suites share: implementations, shapes, synthetic data, timing.

An *implementation* names where a layer's arithmetic happens:

- ``"reference"``: ``batchnet.reference``, the corrected per-sample loop layers;
- ``"windows"``: the same reference, with scikit-image's ``view_as_windows``
  convolution (convolution only);
- ``"numpy"``: the batched layers on the NumPy backend as a user gets it (the
  compiled kernels when built, unless ``BATCHNET_DISABLE_EXT`` is set);
- ``"cupy"``: the batched layers on the GPU.

An implementation that cannot run here raises ``NotImplementedError`` from
``setup``, which asv reports as skipped. All data is synthetic and seeded:
nothing is downloaded.
"""

import time
from types import SimpleNamespace

import numpy as np

import backends
from backends.base import BackendUnavailable

BATCH_SIZE = 128
LEARNING_RATE = 1e-3
SEED = 0

BATCHED_IMPLEMENTATIONS = ("numpy", "cupy")

# The convolutions of the tutorial's CNN and of a standard conv32 -> conv64 CNN:
# one sample's input shape and the ConvolutionalLayer's arguments.
CONVOLUTIONS = {
    "tutorial": ((28, 28, 1), dict(filters_count=5, filter_shape=(3, 3), padding=(1, 1), stride=2)),
    "conv32": ((28, 28, 1), dict(filters_count=32, filter_shape=(3, 3), padding=(1, 1), stride=1)),
    "conv64": ((14, 14, 32), dict(filters_count=64, filter_shape=(3, 3), padding=(1, 1), stride=1)),
}

# The 2x2, stride-2 pools that follow those convolutions: one sample's input shape.
POOLS = {
    "tutorial": (14, 14, 5),
    "conv32": (28, 28, 32),
    "conv64": (14, 14, 64),
}


def batched_backend(implementation):
    """The backend of a batched implementation (``"numpy"`` or ``"cupy"``)."""
    if implementation == "numpy":
        return backends.get_backend("numpy")
    if implementation == "cupy":
        reason = backends.cupy_unavailable_reason()
        if reason is not None:
            raise NotImplementedError(f"cupy backend unavailable: {reason}")
        try:
            return backends.get_backend("cupy")
        except BackendUnavailable as error:
            raise NotImplementedError(str(error)) from None
    raise ValueError(f"not a batched implementation: {implementation!r}")


def kernel_backend(kernels):
    """The backend whose kernels a kernel benchmark times.

    ``"numpy-cython"``: NumPy with the compiled scatters; ``"numpy-fallback"``:
    the pure-NumPy strided loops; ``"cupy"``: the GPU.
    """
    from backends.numpy_backend import NumpyBackend, extension_unavailable_reason

    if kernels == "numpy-cython":
        reason = extension_unavailable_reason()
        if reason is not None:
            raise NotImplementedError(f"compiled kernels unavailable: {reason}")
        return NumpyBackend(use_extension=True)
    if kernels == "numpy-fallback":
        return NumpyBackend(use_extension=False)
    return batched_backend(kernels)


def layer_library(implementation):
    """The layer classes and activation functions an implementation builds its layers from."""
    if implementation in BATCHED_IMPLEMENTATIONS:
        import batchnet.activations as activations
        import batchnet.layers as layers
    else:
        try:
            import batchnet.reference as layers
            import batchnet.reference.activations as activations
        except ImportError as error:
            raise NotImplementedError(f"batchnet.reference is not available ({error})") from None
    library = SimpleNamespace(
        FCLayer=layers.FCLayer,
        ActivationLayer=layers.ActivationLayer,
        FlattenLayer=layers.FlattenLayer,
        ConvolutionalLayer=layers.ConvolutionalLayer,
        MaxPoolingLayer=layers.MaxPoolingLayer,
        AveragePoolingLayer=layers.AveragePoolingLayer,
        tanh=activations.tanh,
        tanh_prime=activations.tanh_prime,
        relu=activations.relu,
        relu_prime=activations.relu_prime,
    )
    if implementation == "windows":
        library.ConvolutionalLayer = layers.WindowsConvolutionalLayer
    return library


def random_inputs(shape, dtype, seed=SEED):
    """Seeded standard-normal values: an input or an error of ``shape``."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def mnist_like(samples, dtype, seed=SEED):
    """Synthetic MNIST: images ``(N, 28, 28, 1)`` in [0, 1) and one-hot labels ``(N, 10)``."""
    from batchnet.data.preprocessing import one_hot

    rng = np.random.default_rng(seed)
    images = rng.random((samples, 28, 28, 1)).astype(dtype)
    labels = one_hot(rng.integers(0, 10, samples), 10, dtype)
    return images, labels


class LayerRun:
    """One layer of one implementation, with its input and an output error ready.

    A reference implementation runs on one sample, a batched one on a batch of
    ``batch_size``; ``samples`` says which. ``forward`` and ``backward`` wait
    for the device, so that a timer around them measures the work.
    """

    def __init__(self, implementation, make_layer, sample_shape, dtype="float32",
                 batch_size=BATCH_SIZE):
        batch = random_inputs((batch_size,) + tuple(sample_shape), dtype)
        self.layer = make_layer(layer_library(implementation))
        if implementation in BATCHED_IMPLEMENTATIONS:
            self.backend = batched_backend(implementation)
            self.layer.bind(self.backend, np.random.default_rng(SEED))
            self.input = self.backend.asarray(batch)
            self.samples = batch_size
        else:
            self.backend = backends.get_backend("numpy")
            self.input = batch[0]
            self.samples = 1
        output = self.layer.forward_propagation(self.input)
        error = random_inputs(output.shape, dtype, seed=SEED + 1)
        self.output_error = self.backend.asarray(error)
        self.backend.synchronize()

    def forward(self):
        self.layer.forward_propagation(self.input)
        self.backend.synchronize()

    def backward(self):
        self.layer.backward_propagation(self.output_error, LEARNING_RATE)
        self.backend.synchronize()

    def forward_backward(self):
        self.layer.forward_propagation(self.input)
        self.layer.backward_propagation(self.output_error, LEARNING_RATE)
        self.backend.synchronize()

    def seconds_per_sample(self):
        """Fastest of a few forward+backward passes, per sample, in seconds.

        Fewer passes for one sample than for a batch: the loop layers' passes
        are long enough to time well, and slow enough to keep the suite waiting.
        """
        best = float("inf")
        for _ in range(3 if self.samples == 1 else 10):
            start = time.perf_counter()
            self.forward_backward()
            best = min(best, time.perf_counter() - start)
        return best / self.samples


def speedup_vs_reference(implementation, make_layer, sample_shape):
    """Per-sample time of the loop reference divided by that of ``implementation``.

    Both are timed here, back to back, so that the ratio holds for the same
    machine load; the fastest of a few passes stands for each.
    """
    if implementation == "reference":
        return 1.0
    reference = LayerRun("reference", make_layer, sample_shape)
    contender = LayerRun(implementation, make_layer, sample_shape)
    return reference.seconds_per_sample() / contender.seconds_per_sample()


def network(name, implementation, dtype):
    """``batchnet.models.<name>``: a batched ``NeuralNetwork`` with its loss chosen."""
    try:
        from batchnet import models
    except ImportError as error:
        raise NotImplementedError(f"batchnet.models is not available ({error})") from None
    return getattr(models, name)(backend=batched_backend(implementation), dtype=dtype)
