"""Ready-made networks for 28x28 grey images and 10 classes (the CLI's and benchmarks' models).

- ``tutorial_cnn`` (A): the tutorial's small CNN.
- ``standard_cnn`` (B): conv32-pool-conv64-pool-fc128-fc10, the usual PyTorch/Keras
  MNIST example.
- ``tutorial_mlp`` (C): the tutorial's 784-100-50-10 tanh network.
- ``cnn_bn``: ``standard_cnn`` with batch normalization after every conv and the
  hidden dense layer, and dropout (0.25 after each pooling, 0.5 before the last
  layer), as in the Keras MNIST example's regularized variants.

Each builder returns a :class:`NeuralNetwork` with its loss already chosen
(``use`` done); train it with one-hot targets.
"""

from batchnet.activations import relu, relu_prime, softmax, softmax_prime, tanh, tanh_prime
from batchnet.layers import (
    ActivationLayer, BatchNormalizationLayer, ConvolutionalLayer, DropoutLayer, FCLayer, FlattenLayer,
    MaxPoolingLayer,
)
from batchnet.losses import mse, mse_prime, softmax_cross_entropy, softmax_cross_entropy_prime
from batchnet.network import NeuralNetwork

CLASSES = 10


def tutorial_cnn(backend=None, dtype="float32", cross_entropy=False):
    """A: Conv(5 filters 3x3, stride 2, padding 1) - tanh - MaxPool 2x2 - Flatten - FC100 - tanh
    - FC50 - tanh - FC10 - softmax, trained with MSE, as in the tutorial.

    ``cross_entropy=True`` ends in FC10 logits with the fused softmax cross-entropy
    instead: the same predictions (argmax), a better-conditioned gradient.
    """
    network = NeuralNetwork(backend=backend, dtype=dtype)
    network.add(ConvolutionalLayer(5, (3, 3), padding=1, stride=2))
    network.add(ActivationLayer(tanh, tanh_prime))
    network.add(MaxPoolingLayer((2, 2), stride=2))
    network.add(FlattenLayer())
    network.add(FCLayer(100))
    network.add(ActivationLayer(tanh, tanh_prime))
    network.add(FCLayer(50))
    network.add(ActivationLayer(tanh, tanh_prime))
    network.add(FCLayer(CLASSES))
    if cross_entropy:
        return network.use(softmax_cross_entropy, softmax_cross_entropy_prime)
    network.add(ActivationLayer(softmax, softmax_prime))
    return network.use(mse, mse_prime)


def standard_cnn(backend=None, dtype="float32"):
    """B: Conv(32, 3x3, pad 1) - relu - MaxPool 2 - Conv(64, 3x3, pad 1) - relu - MaxPool 2
    - Flatten - FC128 - relu - FC10, softmax cross-entropy on the logits."""
    network = NeuralNetwork(backend=backend, dtype=dtype)
    network.add(ConvolutionalLayer(32, (3, 3), padding=1))
    network.add(ActivationLayer(relu, relu_prime))
    network.add(MaxPoolingLayer((2, 2), stride=2))
    network.add(ConvolutionalLayer(64, (3, 3), padding=1))
    network.add(ActivationLayer(relu, relu_prime))
    network.add(MaxPoolingLayer((2, 2), stride=2))
    network.add(FlattenLayer())
    network.add(FCLayer(128, weight_initializer="he_uniform"))
    network.add(ActivationLayer(relu, relu_prime))
    network.add(FCLayer(CLASSES))
    return network.use(softmax_cross_entropy, softmax_cross_entropy_prime)


def tutorial_mlp(backend=None, dtype="float32"):
    """C: Flatten - FC100 - tanh - FC50 - tanh - FC10 - tanh (784 -> 100 -> 50 -> 10), MSE."""
    network = NeuralNetwork(backend=backend, dtype=dtype)
    network.add(FlattenLayer())
    network.add(FCLayer(100))
    network.add(ActivationLayer(tanh, tanh_prime))
    network.add(FCLayer(50))
    network.add(ActivationLayer(tanh, tanh_prime))
    network.add(FCLayer(CLASSES))
    network.add(ActivationLayer(tanh, tanh_prime))
    return network.use(mse, mse_prime)


def cnn_bn(backend=None, dtype="float32"):
    """Conv(32, 3x3, pad 1) - BN - relu - MaxPool 2 - Dropout 0.25 - Conv(64, 3x3, pad 1) - BN
    - relu - MaxPool 2 - Dropout 0.25 - Flatten - FC128 - BN - relu - Dropout 0.5 - FC10,
    softmax cross-entropy on the logits.

    ``standard_cnn``'s convolutions and dense layers, so that the cost of batch
    norm and dropout can be read against it (their biases are kept: the batch
    norm after them cancels them, at the cost of a few idle parameters).

    Every weight starts from ``uniform_fan_in`` (PyTorch's default), not He:
    a layer before batch norm gives the same output at any scale of its
    weights, and Adam's steps have a fixed size, so weights a sqrt(6) smaller
    learn faster. On Fashion-MNIST (benchmarks/compare/accuracy_bn.py, 15
    epochs) He's weights reached 91.6%, these 92.5%, as PyTorch's same net does.
    """
    network = NeuralNetwork(backend=backend, dtype=dtype)
    weights = "uniform_fan_in"
    for filters in (32, 64):
        network.add(ConvolutionalLayer(filters, (3, 3), padding=1, weight_initializer=weights))
        network.add(BatchNormalizationLayer())
        network.add(ActivationLayer(relu, relu_prime))
        network.add(MaxPoolingLayer((2, 2), stride=2))
        network.add(DropoutLayer(0.25))
    network.add(FlattenLayer())
    network.add(FCLayer(128, weight_initializer=weights))
    network.add(BatchNormalizationLayer())
    network.add(ActivationLayer(relu, relu_prime))
    network.add(DropoutLayer(0.5))
    network.add(FCLayer(CLASSES, weight_initializer=weights))
    return network.use(softmax_cross_entropy, softmax_cross_entropy_prime)
