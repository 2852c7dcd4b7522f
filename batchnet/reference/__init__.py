"""Per-sample, loop-based layers: the tutorial's design with every bug in SEED_NOTES.md fixed.

The oracle for the batched layers (tests compare them sample by sample) and
the baseline of the speed benchmarks. Same names, arguments and parameter
layouts as :mod:`batchnet.layers`, so weights copy across; plain NumPy, one
sample at a time. ``WindowsConvolutionalLayer`` needs scikit-image: it is
imported on first access (and left out of ``__all__``).
"""

from batchnet.reference.activation import ActivationLayer
from batchnet.reference.activations import (
    relu,
    relu_prime,
    sigmoid,
    sigmoid_prime,
    softmax,
    softmax_prime,
    tanh,
    tanh_prime,
)
from batchnet.reference.base import Layer
from batchnet.reference.conv import ConvolutionalLayer
from batchnet.reference.dense import FCLayer
from batchnet.reference.flatten import FlattenLayer
from batchnet.reference.losses import mse, mse_prime, softmax_cross_entropy, softmax_cross_entropy_prime
from batchnet.reference.network import NeuralNetwork
from batchnet.reference.pooling import AveragePoolingLayer, MaxPoolingLayer, PoolingLayer


def __getattr__(name):
    # scikit-image is an optional dependency: only the windows layer needs it
    if name == "WindowsConvolutionalLayer":
        from batchnet.reference.windows_conv import WindowsConvolutionalLayer

        return WindowsConvolutionalLayer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ActivationLayer",
    "AveragePoolingLayer",
    "ConvolutionalLayer",
    "FCLayer",
    "FlattenLayer",
    "Layer",
    "MaxPoolingLayer",
    "NeuralNetwork",
    "PoolingLayer",
    "mse",
    "mse_prime",
    "relu",
    "relu_prime",
    "sigmoid",
    "sigmoid_prime",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_prime",
    "softmax_prime",
    "tanh",
    "tanh_prime",
]
