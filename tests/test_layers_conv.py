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
