"""Speed mechanisms that must not change results: buffer reuse, skipped input errors, relu_backward."""

import numpy as np
import pytest

from batchnet import (
    ActivationLayer,
    ConvolutionalLayer,
    FCLayer,
    FlattenLayer,
    MaxPoolingLayer,
    NeuralNetwork,
    one_hot,
    relu,
    relu_prime,
    sigmoid,
    sigmoid_prime,
    softmax_cross_entropy,
    softmax_cross_entropy_prime,
    tanh,
    tanh_prime,
)


def _batch(seed, shape=(4, 6, 6, 2)):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize(
    "make_layer",
    [
        lambda: ConvolutionalLayer(3, (3, 3), padding=1),
        lambda: ActivationLayer(relu, relu_prime),
        lambda: ActivationLayer(tanh, tanh_prime),
        lambda: ActivationLayer(sigmoid, sigmoid_prime),
        lambda: FCLayer(5),
    ],
    ids=["conv", "relu", "tanh", "sigmoid", "dense"],
)
def test_a_layer_with_reused_buffers_gives_the_results_of_a_fresh_one(backend, make_layer):
    # the same generator seed gives both layers the same initial weights
    fresh, reusing = (make_layer().bind(backend, np.random.default_rng(0)) for _ in range(2))
    reusing.reuse_buffers = True
    for seed in (1, 2):
        x = backend.asarray(_batch(seed))
        outputs = [layer.forward_propagation(x) for layer in (fresh, reusing)]
        np.testing.assert_array_equal(*(backend.to_numpy(o) for o in outputs))
        error = backend.asarray(_batch(seed + 10, outputs[0].shape))
        errors = [layer.backward(error) for layer in (fresh, reusing)]
        np.testing.assert_array_equal(*(backend.to_numpy(e) for e in errors))


@pytest.mark.parametrize("make_layer", [lambda: ConvolutionalLayer(3, (3, 3)), lambda: ActivationLayer(relu, relu_prime)],
                         ids=["conv", "relu"])
def test_a_layer_used_on_its_own_returns_a_fresh_array_each_call(backend, make_layer):
    layer = make_layer().bind(backend)
    first = layer.forward_propagation(backend.asarray(_batch(1)))
    kept = backend.to_numpy(first).copy()
    second = layer.forward_propagation(backend.asarray(_batch(2)))
    assert first is not second
    np.testing.assert_array_equal(backend.to_numpy(first), kept)


@pytest.mark.parametrize("make_layer", [lambda: ConvolutionalLayer(3, (3, 2), padding=1, stride=2),
                                        lambda: FCLayer(4)], ids=["conv", "dense"])
def test_skipping_the_input_error_keeps_the_parameter_gradients(backend, make_layer):
    layer = make_layer().bind(backend)
    output = layer.forward_propagation(backend.asarray(_batch(3)))
    error = backend.asarray(_batch(4, output.shape))
    assert layer.backward(error, need_input_error=False) is None
    skipped = {name: backend.to_numpy(g).copy() for name, g in layer.gradients.items()}
    assert layer.backward(error) is not None
    for name, gradient in layer.gradients.items():
        np.testing.assert_array_equal(backend.to_numpy(gradient), skipped[name])


def test_fit_trains_the_same_weights_as_a_plain_loop_of_tutorial_steps(backend):
    """fit (buffer reuse, no first input error) == forward / backward_propagation by hand."""
    x = np.random.default_rng(5).random((8, 6, 6, 1))
    y = one_hot(np.arange(8) % 3, 3, dtype="float64")

    def network():
        return (NeuralNetwork(backend=backend, dtype="float64")
                .add(ConvolutionalLayer(2, (3, 3), padding=1)).add(ActivationLayer(relu, relu_prime))
                .add(MaxPoolingLayer()).add(FlattenLayer()).add(FCLayer(3))
                .use(softmax_cross_entropy, softmax_cross_entropy_prime))

    trained = network().fit(x, y, epochs=2, learning_rate=0.1, batch_size=4, shuffle=False, seed=9, verbose=0)
    by_hand = network()
    by_hand._bind(np.random.default_rng(9).spawn(2)[0])  # fit draws the weights from the first child
    for _ in range(2):
        for start in (0, 4):
            xb, yb = backend.asarray(x[start:start + 4]), backend.asarray(y[start:start + 4])
            error = softmax_cross_entropy_prime(yb, by_hand.forward(xb))
            for layer in reversed(by_hand.layers):
                error = layer.backward_propagation(error, 0.1)
    for a, b in zip(trained.layers, by_hand.layers):
        for name, value in a.parameters().items():
            np.testing.assert_allclose(backend.to_numpy(value), backend.to_numpy(getattr(b, name)), rtol=1e-12)


@pytest.mark.parametrize("size", [7, 16_385, 70_001])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_passes_the_error_where_the_input_is_positive(backend, size, dtype):
    rng = np.random.default_rng(size)
    inputs = rng.standard_normal(size).astype(dtype)
    inputs[::97] = np.nan
    inputs[1::89] = 0
    error = rng.standard_normal(size).astype(dtype)
    error[2::101] = np.nan
    expected = np.where(inputs > 0, error, 0).astype(dtype)
    actual = backend.to_numpy(backend.relu_backward(backend.asarray(inputs), backend.asarray(error)))
    assert actual.dtype == dtype
    np.testing.assert_array_equal(actual, expected)
