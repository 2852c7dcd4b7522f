"""The per-sample reference layers (batchnet/reference/) are right: their backward passes match finite differences.

The reference is the oracle for the batched layers, so it is itself checked
against central differences (float64), entry by entry, for the input error and
every parameter gradient, over strides, paddings, non-square kernels, several
channels, odd sizes and overlapping pools. A few behaviours that differences
cannot see (ties, -inf padding, the SGD step) are pinned down explicitly, and
the two reference convolutions (loops, scikit-image windows) agree.
"""

import numpy as np
import pytest

from batchnet import reference
from batchnet.activations import softmax_prime as batched_softmax_prime
from batchnet.gradient_check import check_network, layer_gradients, numerical_layer_gradients
from layer_checks import ALL_CONV_CASES, REFERENCE_ATOL, REFERENCE_RTOL, case_id, images

# (sample shape, filters, filter_shape, padding, stride)
CONV_CASES = [
    ((5, 5, 1), 2, (3, 3), 0, 1),
    ((7, 6, 3), 4, (3, 2), (1, 2), (2, 1)),
    ((6, 7, 2), 3, (2, 3), 1, 2),
    ((5, 4, 2), 2, (1, 1), 0, 1),
    ((4, 5, 2), 2, (4, 5), 0, 1),
    ((5, 5, 1), 1, (3, 3), 2, 3),
    ((9, 7, 2), 2, (5, 3), (2, 0), (3, 2)),
]

# (sample shape, pool_shape, stride, padding)
POOL_CASES = [
    ((4, 4, 2), (2, 2), 2, 0),
    ((5, 5, 2), (3, 3), 1, 1),
    ((7, 6, 3), (3, 2), (2, 1), (1, 1)),
    ((5, 7, 1), (2, 3), 3, (1, 1)),
    ((6, 6, 1), (4, 4), 2, 2),
    ((5, 3, 2), (1, 3), (1, 2), 0),
]

CONV_CLASSES = ["ConvolutionalLayer", "WindowsConvolutionalLayer"]


def conv_class(name):
    """A reference convolution class; the windows one needs scikit-image."""
    if name == "WindowsConvolutionalLayer":
        pytest.importorskip("skimage")
    return getattr(reference, name)


def conv_id(case):
    shape, filters, kernel, padding, stride = case
    return f"{shape}-f{filters}-k{kernel}-p{padding}-s{stride}"


def pool_id(case):
    shape, pool, stride, padding = case
    return f"{shape}-k{pool}-s{stride}-p{padding}"


def assert_gradients_match_differences(layer, sample, seed=0):
    rng = np.random.default_rng(seed)
    output = layer.forward_propagation(sample)
    output_error = rng.standard_normal(output.shape)
    analytic = layer_gradients(layer, sample, output_error)
    numeric = numerical_layer_gradients(layer, sample, output_error)
    assert set(analytic) == set(numeric)
    for name in numeric:
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=1e-6, atol=1e-7,
                                   err_msg=f"{layer.name}: dE/d{name}")


@pytest.mark.parametrize("class_name", CONV_CLASSES)
@pytest.mark.parametrize("case", CONV_CASES, ids=conv_id)
def test_convolution_gradients_match_finite_differences(class_name, case):
    shape, filters, kernel, padding, stride = case
    layer = conv_class(class_name)(filters, kernel, padding=padding, stride=stride, rng=1)
    sample = np.random.default_rng(2).standard_normal(shape)
    assert_gradients_match_differences(layer, sample)


@pytest.mark.parametrize("class_name", ["MaxPoolingLayer", "AveragePoolingLayer"])
@pytest.mark.parametrize("case", POOL_CASES, ids=pool_id)
def test_pooling_input_error_matches_finite_differences(class_name, case):
    shape, pool, stride, padding = case
    layer = getattr(reference, class_name)(pool, stride=stride, padding=padding)
    sample = np.random.default_rng(3).standard_normal(shape)
    assert_gradients_match_differences(layer, sample)


@pytest.mark.parametrize("shape", [(5,), (1,), (3, 4, 2)])
def test_fc_gradients_match_finite_differences(shape):
    layer = reference.FCLayer(4, rng=1)
    sample = np.random.default_rng(4).standard_normal(shape)
    assert_gradients_match_differences(layer, sample)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "softmax"])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 2)])
def test_activation_input_error_matches_finite_differences(name, shape):
    layer = reference.ActivationLayer(getattr(reference, name), getattr(reference, f"{name}_prime"))
    sample = np.random.default_rng(5).standard_normal(shape)
    assert_gradients_match_differences(layer, sample)


def test_activation_layer_accepts_a_vector_jacobian_product_prime():
    layer = reference.ActivationLayer(reference.softmax, batched_softmax_prime)
    assert_gradients_match_differences(layer, np.random.default_rng(6).standard_normal(6))


def test_flatten_input_error_matches_finite_differences():
    sample = np.random.default_rng(7).standard_normal((3, 2, 4))
    assert_gradients_match_differences(reference.FlattenLayer(), sample)


def test_fc_input_error_has_the_sample_shape():
    layer = reference.FCLayer(3, rng=1)
    layer.forward_propagation(np.ones((7, 7, 5)))
    assert layer.backward(np.ones(3)).shape == (7, 7, 5)


def test_softmax_prime_is_the_jacobian():
    z = np.array([0.3, -1.2, 2.0, 0.1])
    s = reference.softmax(z)
    expected = np.diag(s) - np.outer(s, s)
    np.testing.assert_allclose(reference.softmax_prime(z, s), expected, rtol=1e-14)


def test_convolution_visits_the_last_window_that_fits():
    # 28x28, 3x3 kernel, stride 2, padding 1: the tutorial filled only 13x13 of 14x14 (B13, B14)
    layer = reference.ConvolutionalLayer(1, (3, 3), padding=1, stride=2, rng=1)
    layer.weights = np.ones((3, 3, 1, 1))
    layer.bias = np.zeros(1)
    output = layer.forward_propagation(np.ones((28, 28, 1)))
    assert output.shape == (14, 14, 1)
    assert output[13, 13, 0] == 9.0  # padded rows/cols 26..28: all real pixels
    assert output[0, 0, 0] == 4.0  # top-left window: 2x2 real pixels, the rest padding


def test_two_dimensional_image_is_one_channel():
    layer = reference.ConvolutionalLayer(2, (3, 3), rng=1)
    image = np.random.default_rng(8).standard_normal((5, 5))
    output = layer.forward_propagation(image)
    assert layer.weights.shape == (3, 3, 1, 2)
    assert layer.backward(np.ones_like(output)).shape == (5, 5)


def test_max_pooling_never_takes_the_padding_as_maximum():
    layer = reference.MaxPoolingLayer((3, 3), stride=1, padding=1)
    output = layer.forward_propagation(np.full((4, 4, 1), -0.5))
    np.testing.assert_array_equal(output, np.full((4, 4, 1), -0.5))


def test_max_pooling_sends_the_error_to_the_first_of_tied_maxima():
    layer = reference.MaxPoolingLayer((2, 2), stride=2)
    layer.forward_propagation(np.zeros((4, 4, 1)))
    input_error = layer.backward(np.arange(1.0, 5.0).reshape(2, 2, 1))
    expected = np.zeros((4, 4, 1))
    expected[0, 0, 0], expected[0, 2, 0], expected[2, 0, 0], expected[2, 2, 0] = 1, 2, 3, 4
    np.testing.assert_array_equal(input_error, expected)


def test_max_pooling_adds_the_errors_of_overlapping_windows():
    layer = reference.MaxPoolingLayer((3, 3), stride=1)
    sample = np.zeros((4, 4, 1))
    sample[1, 1, 0] = 1.0  # the maximum of all four windows
    layer.forward_propagation(sample)
    input_error = layer.backward(np.ones((2, 2, 1)))
    assert input_error[1, 1, 0] == 4.0
    assert input_error.sum() == 4.0


def test_average_pooling_counts_the_zero_padding():
    layer = reference.AveragePoolingLayer((2, 2), stride=2, padding=1)
    output = layer.forward_propagation(np.ones((2, 2, 1)))
    np.testing.assert_array_equal(output[:, :, 0], np.full((2, 2), 0.25))


def test_backward_propagation_steps_after_computing_the_input_error():
    layer = reference.FCLayer(3, rng=1)
    sample = np.random.default_rng(9).standard_normal(4)
    error = np.random.default_rng(10).standard_normal(3)
    layer.forward_propagation(sample)
    weights, bias = layer.weights.copy(), layer.bias.copy()
    input_error = layer.backward_propagation(error, 0.1)
    np.testing.assert_allclose(input_error, weights @ error, rtol=1e-14)
    np.testing.assert_allclose(layer.weights, weights - 0.1 * np.outer(sample, error), rtol=1e-14)
    np.testing.assert_allclose(layer.bias, bias - 0.1 * error, rtol=1e-14)


def test_parameters_take_the_dtype_of_the_first_sample():
    layer = reference.ConvolutionalLayer(2, (2, 2), rng=1)
    output = layer.forward_propagation(np.ones((3, 3, 2), dtype=np.float32))
    assert layer.weights.dtype == layer.bias.dtype == output.dtype == np.float32


def test_assigned_weights_of_the_wrong_shape_are_rejected():
    layer = reference.ConvolutionalLayer(2, (2, 2), rng=1)
    layer.weights = np.zeros((2, 2, 3, 2))
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: expected weights of shape \(2, 2, 1, 2\)"):
        layer.forward_propagation(np.ones((3, 3, 1)))


def test_window_larger_than_the_padded_input_is_rejected():
    with pytest.raises(ValueError, match="MaxPoolingLayer: window 3x3 is larger"):
        reference.MaxPoolingLayer((3, 3), stride=1).forward_propagation(np.ones((2, 2, 1)))


@pytest.mark.parametrize("method", ["elementwise", "directional"])
def test_reference_network_gradients_match_finite_differences(method):
    network = reference.NeuralNetwork()
    network.add(reference.ConvolutionalLayer(2, (3, 2), padding=1, stride=(1, 2), rng=1))
    network.add(reference.ActivationLayer(reference.relu, reference.relu_prime))
    network.add(reference.MaxPoolingLayer((2, 2), stride=1))
    network.add(reference.FlattenLayer())
    network.add(reference.FCLayer(3, rng=2))
    network.use(reference.softmax_cross_entropy, reference.softmax_cross_entropy_prime)
    sample = np.random.default_rng(11).standard_normal((5, 4, 2))
    errors = check_network(network, sample, np.array([0.0, 1.0, 0.0]), rng=0, method=method)
    assert set(errors) == {"input", "0.weights", "0.bias", "4.weights", "4.bias"}
    assert max(errors.values()) < 1e-6, errors


def test_reference_network_fit_lowers_the_loss():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((20, 4))
    y = np.tanh(x @ rng.standard_normal((4, 2)))
    network = reference.NeuralNetwork()
    network.add(reference.FCLayer(8, rng=1)).add(reference.ActivationLayer(reference.tanh, reference.tanh_prime))
    network.add(reference.FCLayer(2, rng=2))
    network.use(reference.mse, reference.mse_prime).fit(x, y, epochs=15, learning_rate=0.05)
    assert network.losses[-1] < 0.5 * network.losses[0]
    assert network.predict(x).shape == (20, 2)


@pytest.mark.parametrize("case", ALL_CONV_CASES, ids=case_id)
def test_windows_convolution_matches_loop_convolution(case):
    pytest.importorskip("skimage")
    batch, shape, filters, kernel, padding, stride = case
    x = images(1, shape, seed=16)[0]
    loop = reference.ConvolutionalLayer(filters, kernel, padding=padding, stride=stride, rng=17)
    windows = reference.WindowsConvolutionalLayer(filters, kernel, padding=padding, stride=stride, rng=17)
    output = loop.forward_propagation(x)
    np.testing.assert_allclose(windows.forward_propagation(x), output, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
    output_error = np.random.default_rng(18).standard_normal(output.shape)
    np.testing.assert_allclose(windows.backward(output_error), loop.backward(output_error),
                               rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
    for name in ("weights", "bias"):
        np.testing.assert_allclose(windows.gradients[name], loop.gradients[name], rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
