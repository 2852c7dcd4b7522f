"""DropoutLayer: its loop reference, finite differences with a fixed mask, modes, seeds and dtypes."""

import numpy as np
import pytest

from batchnet.gradient_check import numerical_gradient, relative_error
from batchnet.layers import DropoutLayer, FCLayer
from batchnet.reference.dropout import DropoutLayer as ReferenceDropoutLayer

SHAPES = [(7, 5), (3, 4, 5, 2)]


def _batch(seed, shape, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _training_layer(rate, seed=0):
    layer = DropoutLayer(rate).bind(rng=np.random.default_rng(seed))
    layer.training = True
    return layer


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("rate", [0.2, 0.5, 0.9])
def test_training_output_and_error_equal_the_loop_reference_given_the_same_mask(shape, rate):
    layer = _training_layer(rate)
    x, error = _batch(1, shape), _batch(2, shape)
    output = layer.forward_propagation(x)
    input_error = layer.backward(error)
    reference = ReferenceDropoutLayer(rate)
    reference.training = True
    for sample in range(shape[0]):
        reference.keep = layer.mask[sample] != 0
        np.testing.assert_allclose(output[sample], reference.forward_propagation(x[sample]), rtol=1e-15, atol=0)
        np.testing.assert_allclose(input_error[sample], reference.backward(error[sample]), rtol=1e-15, atol=0)


def test_the_mask_keeps_with_probability_one_minus_rate_and_scales_by_its_inverse():
    layer = _training_layer(0.3)
    layer.forward_propagation(np.ones((200, 500)))
    values = np.unique(layer.mask)
    np.testing.assert_allclose(values, [0.0, 1 / 0.7], rtol=1e-15)
    kept = (layer.mask != 0).mean()
    # 100,000 Bernoulli(0.7) draws: the standard deviation of the mean is 0.0014
    assert abs(kept - 0.7) < 0.01


def test_the_backward_pass_equals_finite_differences_with_the_mask_held_fixed():
    layer = _training_layer(0.4, seed=3)
    x, error = _batch(4, (6, 3, 3, 2)), _batch(5, (6, 3, 3, 2))
    layer.forward_propagation(x)
    # replaying the generator's state makes every forward pass draw the same mask
    state = layer.mask_generator.bit_generator.state

    def loss():
        layer.mask_generator.bit_generator.state = state
        return (layer.forward_propagation(x) * error).sum()

    numeric = numerical_gradient(loss, x)
    layer.mask_generator.bit_generator.state = state
    layer.forward_propagation(x)
    analytic = layer.backward(error)
    assert relative_error(analytic, numeric) < 1e-8


def test_inference_is_the_identity_forward_and_backward():
    layer = DropoutLayer(0.5)
    x, error = _batch(1, (4, 6)), _batch(2, (4, 6))
    np.testing.assert_array_equal(layer.forward_propagation(x), x)
    assert layer.mask is None
    np.testing.assert_array_equal(layer.backward(error), error)


def test_backward_follows_the_mode_of_the_forward_pass_it_answers():
    layer = _training_layer(0.5)
    x, error = _batch(1, (4, 6)), _batch(2, (4, 6))
    layer.forward_propagation(x)
    mask = layer.mask.copy()
    layer.training = False  # switched after the pass: the error still goes through its mask
    np.testing.assert_array_equal(layer.backward(error), error * mask)


def test_the_same_seed_gives_the_same_masks_and_another_seed_others():
    masks = {}
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        layer = _training_layer(0.5, seed)
        masks[name] = [layer.forward_propagation(np.ones((8, 10))).copy() for _ in range(3)]
    for first, second in zip(masks["a"], masks["b"]):
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(masks["a"][0], masks["c"][0])
    assert not np.array_equal(masks["a"][0], masks["a"][1])  # each step draws a new mask


def test_its_generator_leaves_the_networks_stream_and_so_the_weights_as_they_were():
    def dense_weights(with_dropout):
        rng = np.random.default_rng(5)
        dense = FCLayer(4).bind(rng=rng)
        x = np.ones((3, 6))
        if with_dropout:
            dropout = DropoutLayer(0.5).bind(rng=rng)
            dropout.training = True
            x = dropout.forward_propagation(x)
        dense.forward_propagation(x)
        return dense.weights

    np.testing.assert_array_equal(dense_weights(True), dense_weights(False))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_dtype_stays_the_inputs(dtype):
    layer = _training_layer(0.5)
    x = _batch(1, (4, 6), dtype)
    output = layer.forward_propagation(x)
    assert output.dtype == dtype and layer.mask.dtype == dtype
    assert layer.backward(_batch(2, (4, 6), dtype)).dtype == dtype


def test_reused_buffers_give_the_results_of_fresh_arrays():
    fresh, reusing = _training_layer(0.5, 9), _training_layer(0.5, 9)
    reusing.reuse_buffers = True
    for step in range(3):
        x, error = _batch(step, (5, 4)), _batch(step + 10, (5, 4))
        np.testing.assert_array_equal(fresh.forward_propagation(x), reusing.forward_propagation(x))
        np.testing.assert_array_equal(fresh.backward(error), reusing.backward(error))


def test_on_every_backend_the_mask_is_drawn_where_the_data_lives(backend):
    layer = DropoutLayer(0.5).bind(backend, np.random.default_rng(0))
    layer.training = True
    x = backend.asarray(_batch(1, (6, 8)))
    events = getattr(backend, "events", None)
    layer.forward_propagation(x)
    if events is not None:
        events.clear()
    output = layer.forward_propagation(x)
    input_error = layer.backward(output)
    if events is not None:
        assert events == {}  # no upload of a host mask, no sync, each step
    mask, x_host = backend.to_numpy(layer.mask), backend.to_numpy(x)
    assert set(np.unique(mask)) <= {0.0, 2.0}
    np.testing.assert_array_equal(backend.to_numpy(output), x_host * mask)
    np.testing.assert_array_equal(backend.to_numpy(input_error), x_host * mask * mask)


@pytest.mark.parametrize("rate", [-0.1, 1, 1.5, "0.5", True, None])
def test_a_rate_outside_zero_to_one_is_refused_naming_the_layer(rate):
    with pytest.raises(ValueError, match=r"DropoutLayer: rate must be a number in \[0, 1\)"):
        DropoutLayer(rate)


def test_it_says_it_cannot_be_sharded():
    assert DropoutLayer.shardable is False


def _network_with_dropout():
    from batchnet.activations import relu, relu_prime
    from batchnet.layers import ActivationLayer
    from batchnet.losses import softmax_cross_entropy, softmax_cross_entropy_prime
    from batchnet.network import NeuralNetwork

    network = NeuralNetwork(dtype="float64").add(FCLayer(16)).add(ActivationLayer(relu, relu_prime))
    network.add(DropoutLayer(0.5)).add(FCLayer(3))
    return network.use(softmax_cross_entropy, softmax_cross_entropy_prime)


def test_fit_trains_with_the_mask_and_predict_infers_without_it():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 5)), np.eye(3)[rng.integers(0, 3, 32)]
    network = _network_with_dropout()
    dropout = network.layers[2]
    passes = []
    forward = dropout.forward

    def noting_the_mode(input_data):
        output = forward(input_data)
        passes.append((dropout.training, output is input_data))
        return output

    dropout.forward = noting_the_mode
    network.fit(x, y, epochs=2, learning_rate=0.1, batch_size=8, seed=1, verbose=0)
    # every step of fit dropped elements: its output was never the input itself
    assert passes == [(True, False)] * 8
    assert dropout.training is False  # fit leaves the network inferring
    passes.clear()
    first, second = network.predict(x), network.predict(x)
    assert passes and all(mode == (False, True) for mode in passes)
    np.testing.assert_array_equal(first, second)
    # inference is the network without the layer
    hidden = network.layers[1].forward_propagation(network.layers[0].forward_propagation(x))
    np.testing.assert_allclose(first, network.layers[3].forward_propagation(hidden), rtol=1e-12)


def test_the_same_seed_trains_the_same_weights_with_dropout_and_another_seed_others():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((32, 5)), np.eye(3)[rng.integers(0, 3, 32)]
    weights = []
    for seed in (4, 4, 5):
        network = _network_with_dropout()
        network.fit(x, y, epochs=2, learning_rate=0.1, batch_size=8, seed=seed, verbose=0)
        weights.append(network.layers[3].weights)
    np.testing.assert_array_equal(weights[0], weights[1])
    assert not np.allclose(weights[0], weights[2])


def test_rows_of_a_global_batch_get_that_batchs_masks_and_a_batch_elsewhere_keeps_the_stream_in_step():
    # what data-parallel training relies on: a process's rows are masked as one process masks them
    first, second = _batch(1, (8, 6)), _batch(2, (8, 6))
    whole, part, elsewhere = (_training_layer(0.5, seed=4) for _ in range(3))
    expected_first, expected_second = whole.forward_propagation(first), whole.forward_propagation(second)
    part.rows_of_batch = (3, 5, 8)
    np.testing.assert_array_equal(part.forward_propagation(first[3:5]), expected_first[3:5])
    # no rows of the first batch here: its masks are drawn anyway, so the second batch's are the same
    elsewhere.training = False
    elsewhere.forward_propagation(first[:1])  # made ready (no draws), as every process is before training
    elsewhere.training = True
    elsewhere.rows_of_batch = (8, 8, 8)
    elsewhere.draw_for_rows_elsewhere()
    elsewhere.rows_of_batch = (2, 6, 8)
    np.testing.assert_array_equal(elsewhere.forward_propagation(second[2:6]), expected_second[2:6])
