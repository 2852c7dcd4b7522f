"""batchnet: the beginners' tutorial network library, vectorized over mini-batches.

NumPy on the CPU, CuPy on the GPU (see :mod:`backends`), with a corrected
per-sample reference implementation in :mod:`batchnet.reference`.
"""

from batchnet._version import __version__
from batchnet.activations import (
    leaky_relu,
    leaky_relu_prime,
    relu,
    relu_prime,
    sigmoid,
    sigmoid_prime,
    softmax,
    softmax_prime,
    softplus,
    softplus_prime,
    tanh,
    tanh_prime,
)
from batchnet.data import load_fashion_mnist, load_mnist, one_hot, scale_images
from batchnet.environment import show_config
from batchnet.training.callbacks import Callback, EarlyStopping
from batchnet.training.checkpoints import ModelCheckpoint
from batchnet.training.history import History
from batchnet.training.loop import TrainingDiverged
from batchnet.training.schedules import CosineAnnealing, ExponentialDecay, ReduceLROnPlateau, StepDecay
from batchnet.layers import (
    ActivationLayer,
    AveragePoolingLayer,
    BatchNormalizationLayer,
    ConvolutionalLayer,
    DropoutLayer,
    FCLayer,
    FlattenLayer,
    Layer,
    MaxPoolingLayer,
)
from batchnet.losses import (
    binary_cross_entropy,
    binary_cross_entropy_prime,
    categorical_cross_entropy,
    categorical_cross_entropy_prime,
    mse,
    mse_prime,
    softmax_cross_entropy,
    softmax_cross_entropy_prime,
)
from batchnet.network import NeuralNetwork
from batchnet.optimizers import SGD, Adam
from batchnet.random import set_seed
from batchnet.saving import load_model, save_model


__all__ = [
    "BatchNormalizationLayer",
    "DropoutLayer",
    "leaky_relu",
    "leaky_relu_prime",
    "softplus",
    "softplus_prime",
    "binary_cross_entropy",
    "binary_cross_entropy_prime",
    "categorical_cross_entropy",
    "categorical_cross_entropy_prime",
    "ActivationLayer",
    "Adam",
    "AveragePoolingLayer",
    "Callback",
    "ConvolutionalLayer",
    "CosineAnnealing",
    "EarlyStopping",
    "ExponentialDecay",
    "FCLayer",
    "FlattenLayer",
    "History",
    "load_fashion_mnist",
    "load_mnist",
    "load_model",
    "save_model",
    "Layer",
    "MaxPoolingLayer",
    "ModelCheckpoint",
    "NeuralNetwork",
    "ReduceLROnPlateau",
    "SGD",
    "StepDecay",
    "TrainingDiverged",
    "mse",
    "mse_prime",
    "one_hot",
    "relu",
    "relu_prime",
    "scale_images",
    "set_seed",
    "show_config",
    "sigmoid",
    "sigmoid_prime",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_prime",
    "softmax_prime",
    "tanh",
    "tanh_prime",
]
