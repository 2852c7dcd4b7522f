"""ConvolutionalLayer (batchnet/layers/conv.py): reference, finite differences, chunks, errors."""

import numpy as np
import pytest

import batchnet.layers as batched
from batchnet import ConvolutionalLayer, FCLayer, FlattenLayer, NeuralNetwork, mse, mse_prime, one_hot, reference
from layer_checks import (
    ALL_CONV_CASES,
    CONV_CASES,
    assert_layer_gradients_match_differences,
    assert_same_as_reference,
    case_id,
    copy_parameters,
    images,
    standard_normal,
)


@pytest.mark.parametrize("case", ALL_CONV_CASES, ids=case_id)
def test_convolution_matches_reference(backend, case):
    batch, shape, filters, kernel, padding, stride = case
    x = images(batch, shape, seed=3)
    reference_layer = reference.ConvolutionalLayer(filters, kernel, padding=padding, stride=stride, rng=4)
    batched_layer = batched.ConvolutionalLayer(filters, kernel, padding=padding, stride=stride)
    copy_parameters(reference_layer, batched_layer, backend, x[0])
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


@pytest.mark.parametrize("case", CONV_CASES[:3] + CONV_CASES[-1:], ids=case_id)
@pytest.mark.parametrize("images_per_chunk", [1, 2])
@pytest.mark.parametrize("reuse_buffers", [False, True])
def test_convolution_in_chunks_of_images_matches_reference(backend, case, images_per_chunk, reuse_buffers):
    # 5 images in chunks of 2 leave a last chunk of 1: its columns take the
    # front of the scratch storage that the full chunks made
    _, shape, filters, kernel, padding, stride = case
    x = images(5, shape, seed=5)
    reference_layer = reference.ConvolutionalLayer(filters, kernel, padding=padding, stride=stride, rng=6)
    batched_layer = batched.ConvolutionalLayer(filters, kernel, padding=padding, stride=stride)
    copy_parameters(reference_layer, batched_layer, backend, x[0])
    batched_layer.bind(backend).reuse_buffers = reuse_buffers
    _, oh, ow, _ = batched_layer.output_shape(x.shape)
    backend.column_chunk_bytes = images_per_chunk * oh * ow * kernel[0] * kernel[1] * shape[2] * 8
    assert len(batched_layer._chunks(x.shape)) == -(-5 // images_per_chunk)
    assert_same_as_reference(reference_layer, batched_layer, backend, x)
    # a second, smaller batch through the same layer: the kept storage serves it too
    assert_same_as_reference(reference_layer, batched_layer, backend, x[:3], seed=2)


@pytest.mark.parametrize("shape, filters, kernel, padding, stride", [
    ((2, 5, 5, 1), 2, (3, 3), 0, 1),
    ((2, 7, 6, 3), 3, (3, 2), (1, 2), (2, 1)),
    ((1, 6, 7, 2), 2, (2, 3), 1, 2),
    ((2, 5, 5, 2), 2, (3, 3), 2, 3),
    ((1, 4, 5, 2), 2, (4, 5), 0, 1),
])
def test_convolution_gradients_match_finite_differences(backend, shape, filters, kernel, padding, stride):
    layer = batched.ConvolutionalLayer(filters, kernel, padding=padding, stride=stride,
                                      bias_initializer="glorot_uniform")
    assert_layer_gradients_match_differences(layer, backend, standard_normal(shape, seed=1))


def test_conv_layer_rejects_a_batch_without_channel_axis():
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: expected input \(N, H, W, C\), got shape \(4, 6, 6\)"):
        ConvolutionalLayer(2, (3, 3)).forward_propagation(np.zeros((4, 6, 6), np.float32))


def test_conv_layer_rejects_a_different_channel_count_after_initialisation():
    layer = ConvolutionalLayer(2, (3, 3))
    layer.forward_propagation(np.zeros((1, 6, 6, 1), np.float32))
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: expected input \(N, H, W, C\) with C=1, got \(1, 6, 6, 3\)"):
        layer.forward_propagation(np.zeros((1, 6, 6, 3), np.float32))


@pytest.mark.parametrize("filters_count", [0, -1, 2.5, "8"])
def test_conv_layer_rejects_a_filters_count_that_is_not_a_positive_int(filters_count):
    with pytest.raises(ValueError, match=rf"ConvolutionalLayer: filters_count must be a positive int, got {filters_count!r}"):
        ConvolutionalLayer(filters_count, (3, 3))


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


# -- through a network: the error names the convolution, not the network --------
def small_conv_net():
    return (NeuralNetwork().add(ConvolutionalLayer(2, (3, 3))).add(FlattenLayer()).add(FCLayer(3))
            .use(mse, mse_prime))


def test_a_network_given_a_five_dimensional_batch_names_the_conv_layer():
    labels = one_hot(np.array([0, 1, 2, 1]), 3)
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: expected input \(N, H, W, C\), got shape \(4, 6, 6, 1, 1\)"):
        small_conv_net().fit(np.zeros((4, 6, 6, 1, 1), np.float32), labels, epochs=1, learning_rate=0.1, verbose=0)


def test_predict_with_a_different_channel_count_names_the_conv_layer():
    images = np.random.default_rng(0).random((4, 6, 6, 1)).astype(np.float32)
    net = small_conv_net().fit(images, one_hot(np.array([0, 1, 2, 1]), 3), epochs=1, learning_rate=0.1, verbose=0)
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: .*C=1, got \(2, 6, 6, 2\)"):
        net.predict(np.zeros((2, 6, 6, 2), np.float32))


def test_hand_set_weights_in_pytorchs_layout_are_refused_naming_both_layouts():
    layer = ConvolutionalLayer(5, (3, 3))
    layer.weights, layer.bias = np.zeros((5, 1, 3, 3), np.float32), np.zeros(5, np.float32)  # (F, C, KH, KW)
    with pytest.raises(ValueError, match=r"^ConvolutionalLayer: expected weights of shape \(3, 3, 1, 5\) for input "
                                         r"samples of shape \(8, 8, 1\), got \(5, 1, 3, 3\), which looks like "
                                         r"PyTorch's \(F, C, KH, KW\) layout: batchnet wants \(KH, KW, C, F\)"):
        layer.forward_propagation(np.zeros((2, 8, 8, 1), np.float32))


def test_the_pytorch_layout_weights_transposed_as_the_error_says_give_pytorchs_convolution():
    rng = np.random.default_rng(3)
    torch_weights = rng.standard_normal((2, 3, 3, 3))  # (F, C, KH, KW)
    x = rng.standard_normal((1, 5, 5, 3))
    layer = ConvolutionalLayer(2, (3, 3), dtype="float64")
    layer.weights, layer.bias = torch_weights.transpose(2, 3, 1, 0), np.zeros(2)
    output = layer.forward_propagation(x)
    # cross-correlation as PyTorch computes it, written out for output pixel (1, 2) of filter 1
    assert np.isclose(output[0, 1, 2, 1], np.sum(torch_weights[1] * x[0, 1:4, 2:5, :].transpose(2, 0, 1)))


def test_a_hand_set_bias_of_another_filter_count_is_refused_naming_the_bias():
    layer = ConvolutionalLayer(4, (3, 3))
    layer.forward_propagation(np.zeros((1, 6, 6, 2), np.float32))
    layer.bias = np.zeros(5, np.float32)
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: expected bias of shape \(4,\), got \(5,\)"):
        layer.forward_propagation(np.zeros((1, 6, 6, 2), np.float32))
