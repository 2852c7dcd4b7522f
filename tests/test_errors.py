"""Bad input gets a clear ValueError/TypeError naming the layer, what it expected and what it got."""

import numpy as np
import pytest

from batchnet import (
    ActivationLayer,
    AveragePoolingLayer,
    ConvolutionalLayer,
    FCLayer,
    FlattenLayer,
    MaxPoolingLayer,
    NeuralNetwork,
    mse,
    mse_prime,
    one_hot,
    tanh,
)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((4, 6, 6, 1)).astype(np.float32)


@pytest.fixture
def labels():
    return one_hot(np.array([0, 1, 2, 1]), 3)


def conv_net():
    return (NeuralNetwork().add(ConvolutionalLayer(2, (3, 3))).add(FlattenLayer()).add(FCLayer(3))
            .use(mse, mse_prime))


def fit_quietly(net, x, y):
    return net.fit(x, y, epochs=1, learning_rate=0.1, verbose=0)


# -- shapes -------------------------------------------------------------------

def test_conv_layer_rejects_a_batch_without_channel_axis():
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: expected input \(N, H, W, C\), got shape \(4, 6, 6\)"):
        ConvolutionalLayer(2, (3, 3)).forward_propagation(np.zeros((4, 6, 6), np.float32))


def test_pooling_layer_rejects_a_batch_without_channel_axis():
    with pytest.raises(ValueError, match=r"MaxPoolingLayer: expected input \(N, H, W, C\), got shape \(4, 6, 6\)"):
        MaxPoolingLayer().forward_propagation(np.zeros((4, 6, 6), np.float32))


def test_network_rejects_a_five_dimensional_batch_naming_the_conv_layer(labels):
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: expected input \(N, H, W, C\), got shape \(4, 6, 6, 1, 1\)"):
        fit_quietly(conv_net(), np.zeros((4, 6, 6, 1, 1), np.float32), labels)


def test_conv_layer_rejects_a_different_channel_count_after_initialisation():
    layer = ConvolutionalLayer(2, (3, 3))
    layer.forward_propagation(np.zeros((1, 6, 6, 1), np.float32))
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: expected input \(N, H, W, C\) with C=1, got \(1, 6, 6, 3\)"):
        layer.forward_propagation(np.zeros((1, 6, 6, 3), np.float32))


def test_predict_with_a_different_channel_count_names_the_conv_layer(images, labels):
    net = fit_quietly(conv_net(), images, labels)
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: .*C=1, got \(2, 6, 6, 2\)"):
        net.predict(np.zeros((2, 6, 6, 2), np.float32))


def test_dense_layer_rejects_a_different_feature_count_after_initialisation():
    layer = FCLayer(2)
    layer.forward_propagation(np.zeros((1, 6), np.float32))
    with pytest.raises(ValueError, match=r"FCLayer: expected 6 input features, got input of shape \(1, 5\)"):
        layer.forward_propagation(np.zeros((1, 5), np.float32))


def test_backward_rejects_an_error_of_the_wrong_shape():
    layer = FCLayer(2)
    layer.forward_propagation(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"FCLayer: expected output error of shape \(2, 2\), got \(2, 4\)"):
        layer.backward(np.zeros((2, 4), np.float32))


def test_a_layer_rejects_an_empty_batch():
    with pytest.raises(ValueError, match=r"FCLayer: expected a non-empty batch, got shape \(0, 3\)"):
        FCLayer(3).forward_propagation(np.zeros((0, 3), np.float32))


@pytest.mark.parametrize(
    "layer, input_shape, message",
    [
        (ConvolutionalLayer(2, (9, 9), padding=1), (1, 6, 6, 1),
         r"ConvolutionalLayer: kernel 9x9 is larger than the padded input 8x8 \(input 6x6, padding \(1, 1\)\)"),
        (ConvolutionalLayer(2, (3, 7)), (1, 6, 6, 1),
         r"ConvolutionalLayer: kernel 3x7 is larger than the padded input 6x6"),
        (MaxPoolingLayer((5, 5)), (1, 4, 4, 1),
         r"MaxPoolingLayer: kernel 5x5 is larger than the padded input 4x4"),
    ],
    ids=["conv-padded", "conv-non-square", "max-pool"],
)
def test_a_window_larger_than_the_padded_input_is_rejected(layer, input_shape, message):
    with pytest.raises(ValueError, match=message):
        layer.forward_propagation(np.zeros(input_shape, np.float32))


# -- values and dtypes --------------------------------------------------------


def test_a_layer_rejects_uint8_input():
    with pytest.raises(TypeError, match="FCLayer: expected a float array, got dtype uint8"):
        FCLayer(3).forward_propagation(np.zeros((2, 3), np.uint8))


def test_a_layer_rejects_input_of_another_dtype_after_initialisation():
    layer = FCLayer(3)
    layer.forward_propagation(np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match="FCLayer: expected input of dtype float32, got float64"):
        layer.forward_propagation(np.zeros((2, 3), np.float64))


def test_a_layer_with_an_explicit_dtype_rejects_other_input_from_the_first_batch():
    with pytest.raises(TypeError, match="FCLayer: expected input of dtype float64, got float32"):
        FCLayer(3, dtype="float64").forward_propagation(np.zeros((2, 3), np.float32))


def test_a_layer_rejects_a_non_float_dtype():
    with pytest.raises(TypeError, match="FCLayer: dtype must be a float type, got int32"):
        FCLayer(3, dtype="int32")


# -- constructors -------------------------------------------------------------

@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ConvolutionalLayer(2, (3, 3), stride=0), "ConvolutionalLayer: stride must be at least 1, got 0"),
        (lambda: ConvolutionalLayer(2, (3, 3), stride=(1, 0)), r"ConvolutionalLayer: stride must be at least 1, got \(1, 0\)"),
        (lambda: MaxPoolingLayer((2, 2), stride=0), "MaxPoolingLayer: stride must be at least 1, got 0"),
        (lambda: AveragePoolingLayer((2, 2), stride=(0, 2)), r"AveragePoolingLayer: stride must be at least 1, got \(0, 2\)"),
        (lambda: ConvolutionalLayer(2, (3, 3), stride=-1), "ConvolutionalLayer: stride must be at least 1, got -1"),
        (lambda: MaxPoolingLayer((2, -2)), r"MaxPoolingLayer: pool_shape must be at least 1x1, got \(2, -2\)"),
    ],
    ids=["conv", "conv-pair", "max-pool", "avg-pool-pair", "conv-negative", "max-pool-negative-shape"],
)
def test_stride_zero_is_rejected_by_the_constructor(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("filters_count", [0, -1, 2.5, "8"])
def test_conv_layer_rejects_a_filters_count_that_is_not_a_positive_int(filters_count):
    with pytest.raises(ValueError, match=rf"ConvolutionalLayer: filters_count must be a positive int, got {filters_count!r}"):
        ConvolutionalLayer(filters_count, (3, 3))


@pytest.mark.parametrize("output_size", [0, -3, "10", True])
def test_dense_layer_rejects_an_output_size_that_is_not_a_positive_int(output_size):
    with pytest.raises(ValueError, match=rf"FCLayer: output_size must be a positive int, got {output_size!r}"):
        FCLayer(output_size)


def test_conv_layer_rejects_an_empty_filter():
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: filter_shape must be at least 1x1, got \(0, 3\)"):
        ConvolutionalLayer(2, (0, 3))


@pytest.mark.parametrize("filter_shape", [(3, 3, 3), None, 1.5])
def test_conv_layer_rejects_a_filter_shape_that_is_not_a_pair(filter_shape):
    with pytest.raises(TypeError, match="ConvolutionalLayer filter_shape: expected an int or a pair of ints"):
        ConvolutionalLayer(2, filter_shape)


def test_conv_layer_rejects_negative_padding():
    with pytest.raises(ValueError, match="ConvolutionalLayer padding: expected non-negative values, got -1"):
        ConvolutionalLayer(2, (3, 3), padding=-1)


@pytest.mark.parametrize("pool_shape, padding", [((2, 2), 2), ((3, 3), (2, 1)), ((2, 4), (0, 3))])
def test_pooling_padding_larger_than_half_the_pool_is_rejected(pool_shape, padding):
    with pytest.raises(ValueError, match=r"MaxPoolingLayer: padding must be at most \(\d, \d\), half the pool_shape \(\d, \d\), got"):
        MaxPoolingLayer(pool_shape, stride=1, padding=padding)


def test_pooling_rejects_an_empty_pool():
    with pytest.raises(ValueError, match=r"MaxPoolingLayer: pool_shape must be at least 1x1, got \(0, 2\)"):
        MaxPoolingLayer((0, 2))


def test_activation_layer_rejects_non_functions():
    with pytest.raises(TypeError, match=r"ActivationLayer: expected two functions \(activation, activation_prime\)"):
        ActivationLayer(tanh, 2)


def test_a_layer_refuses_an_output_error_of_another_dtype(images):
    layer = FCLayer(3)
    output = layer.forward_propagation(images.reshape(4, -1))
    with pytest.raises(TypeError, match="FCLayer: expected output error of dtype float32 like the output, got float64"):
        layer.backward_propagation(np.ones_like(output, dtype=np.float64), 0.1)


