"""The Layer contract (batchnet/layers/base.py, parametric.py): checked input, buffers, declared batch state.

Bad input gets a clear error naming the layer; reused buffers and a skipped
input error change no result; every layer declares the per-batch state it
keeps (``batch_state``, ``scratch_stores``), which replicas and moves drop.
"""

import numpy as np
import pytest

from backends.numpy_backend import NumpyBackend
from batchnet.layers import BatchNormalizationLayer, DropoutLayer
from batchnet import (
    ActivationLayer,
    AveragePoolingLayer,
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
    softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_prime,
    softmax_prime,
    tanh,
    tanh_prime,
)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((4, 6, 6, 1)).astype(np.float32)


def test_backward_rejects_an_error_of_the_wrong_shape():
    layer = FCLayer(2)
    layer.forward_propagation(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"FCLayer: expected output error of shape \(2, 2\), got \(2, 4\)"):
        layer.backward(np.zeros((2, 4), np.float32))


def test_a_layer_rejects_an_empty_batch():
    with pytest.raises(ValueError, match=r"FCLayer: expected a non-empty batch, got shape \(0, 3\)"):
        FCLayer(3).forward_propagation(np.zeros((0, 3), np.float32))


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


def test_a_layer_refuses_an_output_error_of_another_dtype(images):
    layer = FCLayer(3)
    output = layer.forward_propagation(images.reshape(4, -1))
    with pytest.raises(TypeError, match="FCLayer: expected output error of dtype float32 like the output, got float64"):
        layer.backward_propagation(np.ones_like(output, dtype=np.float64), 0.1)


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



LAYERS_WITH_STATE = {
    "conv": lambda: ConvolutionalLayer(3, (3, 3), padding=1),
    "dense": lambda: FCLayer(5),
    "max-pool": lambda: MaxPoolingLayer((2, 2), 2),
    "avg-pool": lambda: AveragePoolingLayer((3, 3), 1, padding=1),
    "relu": lambda: ActivationLayer(relu, relu_prime),
    "softmax": lambda: ActivationLayer(softmax, softmax_prime),
    "flatten": lambda: FlattenLayer(),
    # in training mode, where they keep the most: a mask, the batch's normalized input
    "dropout": lambda: _training(DropoutLayer(0.5)),
    "batch-norm": lambda: _training(BatchNormalizationLayer()),
}


def _training(layer):
    layer.training = True
    return layer


@pytest.mark.parametrize("reuse_buffers", [False, True])
@pytest.mark.parametrize("make_layer", LAYERS_WITH_STATE.values(), ids=LAYERS_WITH_STATE.keys())
def test_every_array_a_layer_keeps_is_a_parameter_or_declared_batch_state(make_layer, reuse_buffers):
    # replicas and moves drop what is declared and share the rest: an array
    # kept anywhere else would be shared between the shards of a batch
    layer = make_layer()
    layer.reuse_buffers = reuse_buffers
    output = layer.forward_propagation(_batch(1))
    layer.backward(_batch(2, output.shape))
    for name, value in vars(layer).items():
        if isinstance(value, np.ndarray):
            assert name in layer.parameter_names + layer.state_names + layer.batch_state, (
                f"{layer.name}.{name} is an array that is neither a parameter, state nor in batch_state")
        elif isinstance(value, dict) and name != "gradients" and value:
            assert name in layer.scratch_stores, f"{layer.name}.{name} is a store missing from scratch_stores"


@pytest.mark.parametrize("make_layer", LAYERS_WITH_STATE.values(), ids=LAYERS_WITH_STATE.keys())
def test_a_moved_layer_keeps_its_parameters_and_drops_its_declared_batch_state(make_layer):
    layer = make_layer()
    x = _batch(1)
    layer.forward_propagation(x)
    parameters = {name: value.copy() for name, value in layer.saved_arrays().items()}
    layer.to(NumpyBackend(use_extension=False))  # another backend object: a move
    for name in layer.batch_state:
        assert getattr(layer, name) is None, f"{layer.name}.{name} survived the move"
    assert all(getattr(layer, name) == {} for name in layer.scratch_stores) and layer.gradients == {}
    for name, value in parameters.items():
        np.testing.assert_array_equal(getattr(layer, name), value)
    assert layer.sample_shape == x.shape[1:]
