"""batchnet.models: the three networks of the CLI and the benchmarks, as specified."""

import numpy as np
import pytest

from batchnet import (
    ActivationLayer,
    ConvolutionalLayer,
    FCLayer,
    FlattenLayer,
    MaxPoolingLayer,
    mse,
    one_hot,
    softmax_cross_entropy,
)
from batchnet.models import standard_cnn, tutorial_cnn, tutorial_mlp


def built(network, dtype="float32", samples=2):
    """Run one batch of 28x28 images through ``network`` so its weights exist."""
    images = np.random.default_rng(0).random((samples, 28, 28, 1)).astype(dtype)
    return network, network.predict(images)


def parameter_counts(network):
    return [sum(int(np.prod(array.shape)) for array in layer.parameters().values()) for layer in network.layers
            if layer.parameters()]


def layer_summary(network):
    summary = []
    for layer in network.layers:
        if isinstance(layer, ConvolutionalLayer):
            summary.append(("conv", layer.filters_count, layer.filter_shape, layer.stride, layer.padding))
        elif isinstance(layer, MaxPoolingLayer):
            summary.append(("maxpool", layer.pool_shape, layer.stride))
        elif isinstance(layer, FCLayer):
            summary.append(("fc", layer.output_size))
        elif isinstance(layer, ActivationLayer):
            summary.append((layer.activation.__name__,))
        elif isinstance(layer, FlattenLayer):
            summary.append(("flatten",))
    return summary


def test_tutorial_cnn_layers_and_loss():
    network = tutorial_cnn()
    assert layer_summary(network) == [
        ("conv", 5, (3, 3), (2, 2), (1, 1)), ("tanh",), ("maxpool", (2, 2), (2, 2)), ("flatten",),
        ("fc", 100), ("tanh",), ("fc", 50), ("tanh",), ("fc", 10), ("softmax",),
    ]
    assert network.loss is mse


def test_tutorial_cnn_cross_entropy_variant_ends_in_logits():
    network = tutorial_cnn(cross_entropy=True)
    assert layer_summary(network)[-1] == ("fc", 10)
    assert network.loss is softmax_cross_entropy


def test_tutorial_cnn_parameter_counts():
    # conv 3*3*1*5 + 5; 28x28 -> stride 2 -> 14x14x5 -> pool -> 7*7*5 = 245 features
    network, output = built(tutorial_cnn())
    assert parameter_counts(network) == [50, 245 * 100 + 100, 100 * 50 + 50, 50 * 10 + 10]
    assert output.shape == (2, 10)
    np.testing.assert_allclose(output.sum(axis=1), 1, rtol=1e-5)


def test_standard_cnn_layers_and_loss():
    network = standard_cnn()
    assert layer_summary(network) == [
        ("conv", 32, (3, 3), (1, 1), (1, 1)), ("relu",), ("maxpool", (2, 2), (2, 2)),
        ("conv", 64, (3, 3), (1, 1), (1, 1)), ("relu",), ("maxpool", (2, 2), (2, 2)), ("flatten",),
        ("fc", 128), ("relu",), ("fc", 10),
    ]
    assert network.loss is softmax_cross_entropy


def test_standard_cnn_parameter_counts_match_the_pytorch_model():
    # PyTorch's conv32-pool-conv64-pool-fc128-fc10 has 421,642 parameters
    network, output = built(standard_cnn())
    counts = parameter_counts(network)
    assert counts == [9 * 32 + 32, 9 * 32 * 64 + 64, 7 * 7 * 64 * 128 + 128, 128 * 10 + 10]
    assert sum(counts) == 421_642
    assert output.shape == (2, 10)


def test_tutorial_mlp_layers_parameters_and_loss():
    network, output = built(tutorial_mlp())
    assert layer_summary(network) == [
        ("flatten",), ("fc", 100), ("tanh",), ("fc", 50), ("tanh",), ("fc", 10), ("tanh",),
    ]
    assert parameter_counts(network) == [784 * 100 + 100, 100 * 50 + 50, 50 * 10 + 10]
    assert network.loss is mse
    assert np.abs(output).max() <= 1


@pytest.mark.parametrize("builder", [tutorial_cnn, standard_cnn, tutorial_mlp])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_builders_honour_dtype(builder, dtype):
    network, output = built(builder(dtype=dtype), dtype=dtype)
    assert network.dtype == np.dtype(dtype) and output.dtype == np.dtype(dtype)
    assert all(array.dtype == np.dtype(dtype) for layer in network.layers for array in layer.parameters().values())


@pytest.mark.parametrize("builder", [tutorial_cnn, standard_cnn, tutorial_mlp])
def test_builders_honour_backend(builder):
    assert builder(backend="numpy").backend.name == "numpy"


@pytest.mark.parametrize("builder", [tutorial_cnn, standard_cnn, tutorial_mlp])
def test_builders_return_fresh_networks(builder):
    first, second = builder(), builder()
    assert first is not second and first.layers[0] is not second.layers[0]


@pytest.mark.parametrize("builder", [tutorial_cnn, standard_cnn, tutorial_mlp])
def test_builders_train_out_of_the_box(builder):
    rng = np.random.default_rng(1)
    images = rng.random((8, 28, 28, 1)).astype("float32")
    targets = one_hot(rng.integers(0, 10, 8), 10)
    network = builder()
    network.fit(images, targets, epochs=1, learning_rate=1e-3, batch_size=4, verbose=0, seed=0)
    assert len(network.history.history["loss"]) == 1
