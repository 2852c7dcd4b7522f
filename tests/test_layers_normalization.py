"""BatchNormalizationLayer: its loop reference, finite differences, train/eval, running statistics, dtypes."""


import numpy as np
import pytest

from batchnet.activations import relu, relu_prime
from batchnet.gradient_check import check_layer, check_network, network_gradients
from batchnet.layers import ActivationLayer, BatchNormalizationLayer, FCLayer
from batchnet.losses import softmax_cross_entropy, softmax_cross_entropy_prime
from batchnet.network import NeuralNetwork
from batchnet.reference.normalization import BatchNormalizationLayer as ReferenceBatchNormalizationLayer

SHAPES = [(9, 4), (5, 3, 4, 3)]


def _batch(seed, shape, dtype=np.float64, scale=1.0, shift=0.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale + shift).astype(dtype)


def _pair(shape, training, momentum=0.9, epsilon=1e-5):
    """A batched layer and its reference with the same non-trivial gamma and beta."""
    features = shape[-1]
    layer = BatchNormalizationLayer(momentum, epsilon)
    reference = ReferenceBatchNormalizationLayer(momentum, epsilon)
    layer.gamma, layer.beta = _batch(20, (features,)) + 1, _batch(21, (features,))
    reference.gamma, reference.beta = layer.gamma.copy(), layer.beta.copy()
    layer.training = reference.training = training
    return layer, reference


@pytest.mark.parametrize("shape", SHAPES)
def test_training_output_errors_and_statistics_equal_the_loop_reference(shape):
    layer, reference = _pair(shape, training=True)
    for step in range(3):
        x, error = _batch(step, shape, scale=3.0, shift=2.0), _batch(step + 10, shape)
        np.testing.assert_allclose(layer.forward_propagation(x), reference.forward_propagation(x),
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(layer.backward(error), reference.backward(error), rtol=1e-10, atol=1e-12)
        for name in ("gamma", "beta"):
            np.testing.assert_allclose(layer.gradients[name], reference.gradients[name], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(layer.running_mean, reference.running_mean, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(layer.running_var, reference.running_var, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", SHAPES)
def test_inference_output_and_errors_equal_the_loop_reference(shape):
    layer, reference = _pair(shape, training=False)
    features = shape[-1]
    layer.running_mean = reference.running_mean = _batch(22, (features,))
    layer.running_var = _batch(23, (features,)) ** 2 + 0.5
    reference.running_var = layer.running_var.copy()
    x, error = _batch(1, shape), _batch(2, shape)
    np.testing.assert_allclose(layer.forward_propagation(x), reference.forward_propagation(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(error), reference.backward(error), rtol=1e-12, atol=1e-12)
    for name in ("gamma", "beta"):
        np.testing.assert_allclose(layer.gradients[name], reference.gradients[name], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
def test_the_backward_pass_equals_finite_differences_of_the_whole_batch_function(shape, training):
    layer, _ = _pair(shape, training)
    if not training:
        layer.running_mean, layer.running_var = _batch(22, shape[-1:]), _batch(23, shape[-1:]) ** 2 + 0.5
    # the error's seed differs from the input's: an error equal to x makes dE/dx vanish
    errors = check_layer(layer, _batch(3, shape, scale=2.0, shift=1.0), rng=99)
    assert max(errors.values()) < 1e-7, errors


def test_a_network_with_batch_norm_in_training_mode_passes_the_gradient_check():
    network = NeuralNetwork(dtype="float64")
    normalization = BatchNormalizationLayer()
    network.add(FCLayer(6)).add(normalization).add(ActivationLayer(relu, relu_prime)).add(FCLayer(3))
    network.use(softmax_cross_entropy, softmax_cross_entropy_prime)
    x = _batch(0, (8, 5))
    y = np.eye(3)[np.arange(8) % 3]
    network.predict(x)  # builds the parameters
    normalization.training = True
    errors = check_network(network, x, y, rng=1, method="elementwise")
    # a shift before batch norm is normalized away: the bias's true gradient is 0, where
    # a relative error compares rounding noise with rounding noise
    del errors["0.bias"]
    assert max(errors.values()) < 1e-7, errors
    np.testing.assert_allclose(network_gradients(network, x, y)["0.bias"], 0, atol=1e-14)


def test_training_normalizes_each_feature_to_zero_mean_and_unit_variance():
    layer = BatchNormalizationLayer()
    layer.training = True
    output = layer.forward_propagation(_batch(0, (6, 5, 5, 3), scale=4.0, shift=-3.0))
    rows = output.reshape(-1, 3)
    np.testing.assert_allclose(rows.mean(axis=0), 0, atol=1e-12)
    # the biased variance: var / (var + eps) of the unit-variance result
    variance = _batch(0, (6, 5, 5, 3), scale=4.0, shift=-3.0).reshape(-1, 3).var(axis=0)
    np.testing.assert_allclose(rows.var(axis=0), variance / (variance + 1e-5), rtol=1e-12)


def test_running_statistics_after_known_batches_equal_a_hand_computation():
    layer = BatchNormalizationLayer(momentum=0.9)
    layer.training = True
    layer.forward_propagation(np.array([[1.0], [3.0]]))  # mean 2, biased variance 1
    np.testing.assert_allclose(layer.running_mean, [0.9 * 0 + 0.1 * 2], rtol=1e-15)
    np.testing.assert_allclose(layer.running_var, [0.9 * 1 + 0.1 * 1], rtol=1e-15)
    layer.forward_propagation(np.array([[0.0], [4.0]]))  # mean 2, biased variance 4
    np.testing.assert_allclose(layer.running_mean, [0.9 * 0.2 + 0.1 * 2], rtol=1e-15)
    np.testing.assert_allclose(layer.running_var, [0.9 * 1.0 + 0.1 * 4], rtol=1e-15)


def test_inference_uses_the_running_statistics_and_leaves_them_alone():
    layer = BatchNormalizationLayer(momentum=0.5, epsilon=1e-3)
    layer.training = True
    layer.forward_propagation(np.array([[1.0, 10.0], [3.0, 14.0]]))  # means (2, 12), variances (1, 4)
    mean, var = np.array([1.0, 6.0]), np.array([1.0, 2.5])
    np.testing.assert_allclose(layer.running_mean, mean, rtol=1e-15)
    np.testing.assert_allclose(layer.running_var, var, rtol=1e-15)
    layer.training = False
    x = np.array([[0.0, 5.0], [2.0, 7.0], [4.0, 9.0]])
    np.testing.assert_allclose(layer.forward_propagation(x), (x - mean) / np.sqrt(var + 1e-3), rtol=1e-14)
    np.testing.assert_allclose(layer.running_mean, mean, rtol=1e-15)
    np.testing.assert_allclose(layer.running_var, var, rtol=1e-15)


@pytest.mark.parametrize("training", [True, False])
def test_float32_stays_float32(training):
    layer = BatchNormalizationLayer()
    layer.training = training
    x = _batch(0, (4, 3, 3, 2), np.float32)
    output = layer.forward_propagation(x)
    input_error = layer.backward(_batch(1, x.shape, np.float32))
    arrays = [output, input_error, layer.gamma, layer.beta, layer.running_mean, layer.running_var,
              *layer.gradients.values()]
    assert {array.dtype for array in arrays} == {np.dtype(np.float32)}


def test_reused_buffers_give_the_results_of_fresh_arrays():
    fresh, reusing = BatchNormalizationLayer(), BatchNormalizationLayer()
    fresh.training = reusing.training = True
    reusing.reuse_buffers = True
    for step in range(3):
        x, error = _batch(step, (5, 4, 4, 3)), _batch(step + 10, (5, 4, 4, 3))
        np.testing.assert_array_equal(fresh.forward_propagation(x), reusing.forward_propagation(x))
        np.testing.assert_array_equal(fresh.backward(error), reusing.backward(error))
        np.testing.assert_array_equal(fresh.gradients["gamma"], reusing.gradients["gamma"])
    np.testing.assert_array_equal(fresh.running_var, reusing.running_var)


@pytest.mark.parametrize("training", [True, False])
def test_every_backend_gives_numpys_results(backend, training):
    x, error = _batch(0, (4, 5, 5, 3), scale=2.0), _batch(1, (4, 5, 5, 3))
    results = []
    for chosen in (None, backend):
        layer = BatchNormalizationLayer()
        if chosen is not None:
            layer.bind(chosen)
        layer.training = training
        xp_x = x if chosen is None else chosen.asarray(x)
        xp_error = error if chosen is None else chosen.asarray(error)
        output, input_error = layer.forward_propagation(xp_x), layer.backward(xp_error)
        host = layer.backend.to_numpy
        results.append([host(output), host(input_error), host(layer.gradients["gamma"]), host(layer.running_var)])
    for numpy_result, backend_result in zip(*results):
        np.testing.assert_allclose(backend_result, numpy_result, rtol=1e-12, atol=1e-12)


def test_moving_to_another_backend_and_replicas_keep_the_running_statistics(backend):
    layer = BatchNormalizationLayer()
    layer.training = True
    layer.forward_propagation(_batch(0, (6, 3), scale=2.0, shift=1.0))
    mean, var = layer.running_mean.copy(), layer.running_var.copy()
    assert layer.replica().running_var is layer.running_var
    layer.to(backend)
    np.testing.assert_array_equal(backend.to_numpy(layer.running_mean), mean)
    np.testing.assert_array_equal(backend.to_numpy(layer.running_var), var)


@pytest.mark.parametrize("momentum", [-0.1, 1.01, True, "0.9", None])
def test_a_momentum_outside_zero_to_one_is_refused_naming_the_layer(momentum):
    with pytest.raises(ValueError, match=r"BatchNormalizationLayer: momentum must be a number in \[0, 1\]"):
        BatchNormalizationLayer(momentum=momentum)


@pytest.mark.parametrize("epsilon", [0, -1e-5, float("nan"), False])
def test_an_epsilon_not_above_zero_is_refused_naming_the_layer(epsilon):
    with pytest.raises(ValueError, match="BatchNormalizationLayer: epsilon must be a number > 0"):
        BatchNormalizationLayer(epsilon=epsilon)


def test_input_with_another_feature_count_is_refused_naming_both():
    layer = BatchNormalizationLayer()
    layer.forward_propagation(_batch(0, (4, 3)))
    with pytest.raises(ValueError, match=r"BatchNormalizationLayer: expected input with 3 features .* \(4, 5\)"):
        layer.forward_propagation(_batch(0, (4, 5)))


def test_a_one_dimensional_input_is_refused():
    with pytest.raises(ValueError, match=r"BatchNormalizationLayer: expected a batch \(N, features\)"):
        BatchNormalizationLayer().forward_propagation(np.ones(4))


def test_it_says_it_cannot_be_sharded():
    assert BatchNormalizationLayer.shardable is False


def test_training_with_two_threads_gives_the_result_of_one():
    x = _batch(0, (8192, 64))
    y = np.eye(4)[np.arange(8192) % 4]
    weights = []
    for threads in (1, 2):
        network = NeuralNetwork(dtype="float64")
        normalization = BatchNormalizationLayer()
        network.add(FCLayer(256)).add(normalization).add(ActivationLayer(relu, relu_prime))
        network.add(FCLayer(4)).use(softmax_cross_entropy, softmax_cross_entropy_prime)
        network.fit(x, y, epochs=1, learning_rate=0.1, batch_size=4096, seed=3, verbose=0, threads=threads)
        weights.append([normalization.gamma.copy(), normalization.running_var.copy(),
                        network.layers[3].weights.copy()])
    # BLAS on 1 or 2 threads rounds differently; statistics of half batches would differ far more
    for one, two in zip(*weights):
        np.testing.assert_allclose(one, two, rtol=1e-10, atol=1e-12)
