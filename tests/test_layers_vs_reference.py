"""Every batched layer equals the per-sample reference run sample by sample (float64, rtol 1e-10).

For a batch ``x`` and an output error ``g``, the batched layer's output and
input error must be the reference's, row by row, and its parameter gradients
the SUM of the reference's per-sample gradients (the batched layers do not
divide by N; the losses do). The reference's initial weights are copied into
the batched layer. Runs on every backend of the ``backend`` fixture.
"""

import numpy as np
import pytest

import batchnet.activations as batched_activations
import batchnet.layers as batched
import batchnet.losses as batched_losses
from batchnet import reference
from batchnet.reference.comparison import run_batched, run_reference

RTOL = 1e-10
ATOL = 1e-12

# (batch, sample shape, filters, filter_shape, padding, stride)
CONV_CASES = [
    (3, (5, 5, 1), 2, (3, 3), 0, 1),
    (2, (7, 6, 3), 4, (3, 2), (1, 2), (2, 1)),
    (2, (6, 7, 2), 3, (2, 3), 1, 2),
    (1, (5, 4, 2), 2, (1, 1), 0, 1),
    (2, (4, 5, 2), 2, (4, 5), 0, 1),
    (2, (5, 5, 1), 1, (3, 3), 2, 3),
    (1, (9, 7, 2), 2, (5, 3), (2, 0), (3, 2)),
    # more weights than batchnet.layers.conv.SMALL_KERNEL_SIZE: the other weight-gradient path
    (2, (5, 4, 12), 12, (3, 3), 1, 1),
]

# (batch, sample shape, pool_shape, stride, padding)
POOL_CASES = [
    (3, (4, 4, 2), (2, 2), 2, 0),
    (2, (5, 5, 2), (3, 3), 1, 1),
    (2, (7, 6, 3), (3, 2), (2, 1), (1, 1)),
    (1, (5, 7, 1), (2, 3), 3, (1, 1)),
    (2, (6, 6, 1), (4, 4), 2, 2),
    (2, (5, 3, 2), (1, 3), (1, 2), 0),
]


def random_conv_cases(count, seed):
    """Seeded random convolutions: odd sizes, non-square kernels, strides and paddings."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        height, width = (int(v) for v in rng.integers(1, 9, 2))
        channels = int(rng.integers(1, 4))
        kernel = tuple(int(v) for v in rng.integers(1, 5, 2))
        padding = tuple(int(v) for v in rng.integers(0, 3, 2))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        if kernel[0] <= height + 2 * padding[0] and kernel[1] <= width + 2 * padding[1]:
            batch, filters = int(rng.integers(1, 4)), int(rng.integers(1, 4))
            cases.append((batch, (height, width, channels), filters, kernel, padding, stride))
    return cases


def random_pool_cases(count, seed):
    """Seeded random pools: overlapping (stride < pool), gapped (stride > pool), padded."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        height, width = (int(v) for v in rng.integers(1, 9, 2))
        channels = int(rng.integers(1, 4))
        pool = tuple(int(v) for v in rng.integers(1, 5, 2))
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in pool)
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        if pool[0] <= height + 2 * padding[0] and pool[1] <= width + 2 * padding[1]:
            cases.append((int(rng.integers(1, 4)), (height, width, channels), pool, stride, padding))
    return cases


ALL_CONV_CASES = CONV_CASES + random_conv_cases(8, seed=2024)
ALL_POOL_CASES = POOL_CASES + random_pool_cases(8, seed=2025)


def case_id(case):
    return "-".join(str(part).replace(" ", "") for part in case)


def copy_parameters(reference_layer, batched_layer, backend, first_sample):
    """Let the reference draw its weights, then give the batched layer the same ones."""
    reference_layer.initialize(first_sample)
    batched_layer.weights = backend.asarray(reference_layer.weights.copy())
    batched_layer.bias = backend.asarray(reference_layer.bias.copy())


def assert_same_as_reference(reference_layer, batched_layer, backend, x, seed=1):
    """Forward and backward through both layers with the same output error; all results equal."""
    reference_output = reference_layer.forward_propagation(x[0])
    output_error = np.random.default_rng(seed).standard_normal((len(x),) + reference_output.shape)
    expected = run_reference(reference_layer, x, output_error)
    actual = run_batched(batched_layer.bind(backend, np.random.default_rng(0)), backend, x, output_error)
    for what, mine, theirs in zip(("output", "input error"), actual[:2], expected[:2]):
        np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{batched_layer!r} {what} (batched vs reference)")
    assert set(actual[2]) == set(expected[2])
    for name in expected[2]:
        np.testing.assert_allclose(actual[2][name], expected[2][name], rtol=RTOL, atol=ATOL,
                                   err_msg=f"{batched_layer!r} dE/d{name} (batched vs summed reference)")


def images(batch, shape, seed):
    return np.random.default_rng(seed).standard_normal((batch,) + shape)


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


@pytest.mark.parametrize("case", ALL_POOL_CASES, ids=case_id)
@pytest.mark.parametrize("kind", ["MaxPoolingLayer", "AveragePoolingLayer"])
def test_pooling_matches_reference(backend, kind, case):
    batch, shape, pool, stride, padding = case
    x = images(batch, shape, seed=5)
    reference_layer = getattr(reference, kind)(pool, stride=stride, padding=padding)
    batched_layer = getattr(batched, kind)(pool, stride=stride, padding=padding)
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


@pytest.mark.parametrize("pool, stride, padding", [((2, 2), 2, 0), ((3, 3), 1, 1), ((2, 3), (1, 2), (1, 1))])
def test_max_pooling_ties_go_to_the_first_maximum_like_the_reference(backend, pool, stride, padding):
    # values on a coarse grid make ties in most windows, some of them across overlapping windows
    x = np.random.default_rng(6).integers(-1, 2, (2, 5, 6, 2)).astype(np.float64)
    reference_layer = reference.MaxPoolingLayer(pool, stride=stride, padding=padding)
    batched_layer = batched.MaxPoolingLayer(pool, stride=stride, padding=padding)
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


def test_max_pooling_of_all_negative_input_with_padding_matches_reference(backend):
    x = np.full((2, 4, 4, 1), -0.5)
    reference_layer = reference.MaxPoolingLayer((3, 3), stride=1, padding=1)
    batched_layer = batched.MaxPoolingLayer((3, 3), stride=1, padding=1)
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


@pytest.mark.parametrize("batch, shape, output_size", [
    (4, (5,), 3), (1, (7,), 2), (3, (1,), 4), (2, (3, 4, 2), 5),
])
def test_fc_matches_reference(backend, batch, shape, output_size):
    x = images(batch, shape, seed=7)
    reference_layer = reference.FCLayer(output_size, rng=8)
    batched_layer = batched.FCLayer(output_size)
    copy_parameters(reference_layer, batched_layer, backend, x[0])
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "softmax"])
@pytest.mark.parametrize("batch, features", [(4, 6), (1, 10), (3, 1)])
def test_activation_matches_reference(backend, name, batch, features):
    x = 3 * images(batch, (features,), seed=9)
    reference_layer = reference.ActivationLayer(
        getattr(reference, name), getattr(reference, f"{name}_prime")
    )
    batched_layer = batched.ActivationLayer(
        getattr(batched_activations, name), getattr(batched_activations, f"{name}_prime")
    )
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu"])
def test_elementwise_activation_on_images_matches_reference(backend, name):
    x = images(2, (3, 4, 2), seed=10)
    reference_layer = reference.ActivationLayer(
        getattr(reference, name), getattr(reference, f"{name}_prime")
    )
    batched_layer = batched.ActivationLayer(
        getattr(batched_activations, name), getattr(batched_activations, f"{name}_prime")
    )
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


@pytest.mark.parametrize("shape", [(3, 4, 2), (5,)])
def test_flatten_matches_reference(backend, shape):
    x = images(3, shape, seed=11)
    assert_same_as_reference(reference.FlattenLayer(), batched.FlattenLayer(), backend, x)


@pytest.mark.parametrize("name", ["mse", "softmax_cross_entropy"])
@pytest.mark.parametrize("batch", [1, 4])
def test_batched_loss_is_the_mean_of_per_sample_losses(backend, name, batch):
    rng = np.random.default_rng(12)
    y_pred = rng.standard_normal((batch, 5))
    y_true = np.eye(5)[rng.integers(0, 5, batch)]
    loss, loss_prime = getattr(batched_losses, name), getattr(batched_losses, f"{name}_prime")
    per_sample, per_sample_prime = getattr(reference, name), getattr(reference, f"{name}_prime")
    expected_loss = np.mean([per_sample(t, p) for t, p in zip(y_true, y_pred)])
    expected_gradient = np.stack([per_sample_prime(t, p) for t, p in zip(y_true, y_pred)]) / batch
    y_true_device, y_pred_device = backend.asarray(y_true), backend.asarray(y_pred)
    np.testing.assert_allclose(float(loss(y_true_device, y_pred_device)), expected_loss, rtol=RTOL)
    np.testing.assert_allclose(backend.to_numpy(loss_prime(y_true_device, y_pred_device)),
                               expected_gradient, rtol=RTOL, atol=ATOL)


def test_network_gradients_are_the_mean_of_per_sample_gradients(backend):
    # conv -> relu -> maxpool -> flatten -> fc, softmax cross-entropy, weights shared
    x = images(3, (6, 5, 2), seed=13)
    y = np.eye(4)[[0, 3, 1]]
    reference_layers = [
        reference.ConvolutionalLayer(3, (3, 2), padding=1, stride=(2, 1), rng=14),
        reference.ActivationLayer(reference.relu, reference.relu_prime),
        reference.MaxPoolingLayer((2, 2), stride=1),
        reference.FlattenLayer(),
        reference.FCLayer(4, rng=15),
    ]
    reference_network = reference.NeuralNetwork().use(
        reference.softmax_cross_entropy, reference.softmax_cross_entropy_prime
    )
    for layer in reference_layers:
        reference_network.add(layer)
    batched_layers = [
        batched.ConvolutionalLayer(3, (3, 2), padding=1, stride=(2, 1)),
        batched.ActivationLayer(batched_activations.relu, batched_activations.relu_prime),
        batched.MaxPoolingLayer((2, 2), stride=1),
        batched.FlattenLayer(),
        batched.FCLayer(4),
    ]
    expected_outputs, expected_errors, expected_gradients = [], [], {}
    for sample, target in zip(x, y):
        output = reference_network.forward(sample)
        expected_outputs.append(output)
        expected_errors.append(reference_network.backward(reference_network.loss_prime(target, output)))
        for index, layer in enumerate(reference_layers):
            for name, gradient in layer.gradients.items():
                key = (index, name)
                expected_gradients[key] = expected_gradients.get(key, 0) + gradient / len(x)
    output = backend.asarray(x)
    for reference_layer, batched_layer in zip(reference_layers, batched_layers):
        batched_layer.bind(backend, np.random.default_rng(0))
        if hasattr(reference_layer, "weights"):
            batched_layer.weights = backend.asarray(reference_layer.weights.copy())
            batched_layer.bias = backend.asarray(reference_layer.bias.copy())
        output = batched_layer.forward_propagation(output)
    np.testing.assert_allclose(backend.to_numpy(output), np.stack(expected_outputs), rtol=RTOL, atol=ATOL)
    error = batched_losses.softmax_cross_entropy_prime(backend.asarray(y), output)
    for batched_layer in reversed(batched_layers):
        error = batched_layer.backward(error)
    np.testing.assert_allclose(backend.to_numpy(error), np.stack(expected_errors) / len(x),
                               rtol=RTOL, atol=ATOL)
    for (index, name), expected in expected_gradients.items():
        np.testing.assert_allclose(backend.to_numpy(batched_layers[index].gradients[name]), expected,
                                   rtol=RTOL, atol=ATOL, err_msg=f"layer {index} dE/d{name}")


@pytest.mark.parametrize("case", ALL_CONV_CASES, ids=case_id)
def test_windows_convolution_matches_loop_convolution(case):
    pytest.importorskip("skimage")
    batch, shape, filters, kernel, padding, stride = case
    x = images(1, shape, seed=16)[0]
    loop = reference.ConvolutionalLayer(filters, kernel, padding=padding, stride=stride, rng=17)
    windows = reference.WindowsConvolutionalLayer(filters, kernel, padding=padding, stride=stride, rng=17)
    output = loop.forward_propagation(x)
    np.testing.assert_allclose(windows.forward_propagation(x), output, rtol=RTOL, atol=ATOL)
    output_error = np.random.default_rng(18).standard_normal(output.shape)
    np.testing.assert_allclose(windows.backward(output_error), loop.backward(output_error),
                               rtol=RTOL, atol=ATOL)
    for name in ("weights", "bias"):
        np.testing.assert_allclose(windows.gradients[name], loop.gradients[name], rtol=RTOL, atol=ATOL)
