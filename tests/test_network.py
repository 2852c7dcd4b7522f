"""The NeuralNetwork API: chaining, History, batched predict, dtypes, validation, optimizers."""

import math

import numpy as np
import pytest

from batchnet import (
    ActivationLayer,
    ConvolutionalLayer,
    FCLayer,
    FlattenLayer,
    MaxPoolingLayer,
    NeuralNetwork,
    TrainingDiverged,
    mse,
    mse_prime,
    one_hot,
    softmax,
    softmax_prime,
    tanh,
    tanh_prime,
)


def two_blobs(samples=64, seed=0):
    """A linearly separable two-class problem in 2-D, labels one-hot."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, 2, samples)
    centres = np.where(classes[:, None] == 1, 1.5, -1.5)
    points = centres + rng.standard_normal((samples, 2)) * 0.5
    return points.astype(np.float32), one_hot(classes, 2)


def small_images(samples=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((samples, 8, 8, 1)).astype(np.float32), one_hot(rng.integers(0, 3, samples), 3)


def tanh_net(**keywords):
    return (NeuralNetwork(**keywords)
            .add(FCLayer(8)).add(ActivationLayer(tanh, tanh_prime))
            .add(FCLayer(2)).add(ActivationLayer(tanh, tanh_prime))
            .use(mse, mse_prime))


def conv_net(**keywords):
    return (NeuralNetwork(**keywords)
            .add(ConvolutionalLayer(filters_count=3, filter_shape=(3, 3), padding=(1, 1), stride=2))
            .add(ActivationLayer(tanh, tanh_prime))
            .add(MaxPoolingLayer(pool_shape=(2, 2)))
            .add(FlattenLayer())
            .add(FCLayer(3))
            .use(mse, mse_prime))


def all_parameters(net):
    return [(layer, name, array) for layer in net.layers for name, array in layer.parameters().items()]


# -- building and chaining ----------------------------------------------------

def test_add_use_and_fit_return_the_network_for_chaining():
    x, y = two_blobs()
    net = NeuralNetwork()
    assert net.add(FCLayer(2)) is net
    assert net.use(mse, mse_prime) is net
    assert net.fit(x, y, epochs=1, learning_rate=0.1, verbose=0) is net


def test_the_tutorials_positional_fit_call_works():
    x, y = two_blobs()
    net = tanh_net().fit(x, y, 2, 0.1, verbose=0)
    assert len(net.history.history["loss"]) == 2


# -- what a network refuses ---------------------------------------------------

@pytest.mark.parametrize("dtype", ["int32", "complex64"])
def test_network_rejects_a_non_float_dtype(dtype):
    with pytest.raises(TypeError, match=f"NeuralNetwork: dtype must be float32 or float64, got {dtype}"):
        NeuralNetwork(dtype=dtype)


def test_network_rejects_float16():
    with pytest.raises(TypeError, match="NeuralNetwork: dtype must be float32 or float64, got float16"):
        NeuralNetwork(dtype="float16")


def test_network_rejects_an_unknown_dtype_name():
    with pytest.raises(TypeError, match="NeuralNetwork: dtype must be float32 or float64, got 'banana'"):
        NeuralNetwork(dtype="banana")


def test_a_network_dtype_of_none_is_refused_not_read_as_float64():
    with pytest.raises(TypeError, match="NeuralNetwork: dtype must be float32 or float64, got None"):
        NeuralNetwork(dtype=None)


def test_network_add_rejects_something_that_is_not_a_layer():
    with pytest.raises(TypeError, match="NeuralNetwork.add: expected a Layer, got function"):
        NeuralNetwork().add(tanh_prime)


# -- History ------------------------------------------------------------------

def test_fit_records_one_loss_and_accuracy_per_epoch():
    x, y = two_blobs()
    net = tanh_net().fit(x, y, epochs=5, learning_rate=0.1, verbose=0)
    assert len(net.history.history["loss"]) == 5
    assert len(net.history.history["accuracy"]) == 5
    assert net.history.epoch == [1, 2, 3, 4, 5]
    assert all(isinstance(value, float) for value in net.history.history["loss"])


def test_a_second_fit_continues_the_history():
    x, y = two_blobs()
    net = tanh_net().fit(x, y, epochs=2, learning_rate=0.1, verbose=0)
    net.fit(x, y, epochs=3, learning_rate=0.1, verbose=0)
    assert net.history.epoch == [1, 2, 3, 4, 5]
    assert len(net.history.history["loss"]) == 5


def test_the_epoch_loss_is_the_mean_over_the_epochs_batches():
    # with learning rate ~0 the weights stay put, so the epoch loss equals evaluate's loss
    x, y = two_blobs(samples=50)
    net = tanh_net(dtype="float64").fit(x, y, epochs=1, learning_rate=1e-300, batch_size=16, verbose=0)
    assert net.history.history["loss"][0] == pytest.approx(net.evaluate(x, y)["loss"], rel=1e-12)


# -- predict and evaluate ------------------------------------------------------

def test_predict_returns_one_numpy_array_equal_to_a_single_forward_pass():
    x, y = small_images(samples=37)
    net = conv_net(dtype="float64").fit(x, y, epochs=1, learning_rate=0.1, verbose=0)
    predictions = net.predict(x, batch_size=8)
    assert isinstance(predictions, np.ndarray)
    assert predictions.shape == (37, 3)
    np.testing.assert_allclose(predictions, net.forward(x.astype(np.float64)), rtol=1e-12, atol=1e-12)


def test_evaluate_returns_the_loss_and_accuracy_of_the_predictions():
    x, y = two_blobs()
    net = tanh_net(dtype="float64").fit(x, y, epochs=3, learning_rate=0.1, verbose=0)
    predictions = net.predict(x)
    metrics = net.evaluate(x, y, batch_size=10)
    assert set(metrics) == {"loss", "accuracy"}
    assert metrics["loss"] == pytest.approx(float(np.mean((predictions - y) ** 2)), rel=1e-12)
    assert metrics["accuracy"] == pytest.approx(np.mean(predictions.argmax(1) == y.argmax(1)))


def test_a_batch_of_two_dimensional_images_is_read_as_one_channel():
    rng = np.random.default_rng(1)
    x = rng.random((4, 28, 28)).astype(np.float32)
    y = one_hot(np.array([0, 1, 2, 0]), 3)
    net = conv_net().fit(x, y, epochs=1, learning_rate=0.1, verbose=0)
    assert net.layers[0].weights.shape == (3, 3, 1, 3)
    np.testing.assert_array_equal(net.predict(x), net.predict(x[..., None]))


# -- dtypes ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "keywords, dtype", [({}, np.float32), ({"dtype": "float64"}, np.float64)], ids=["default", "float64"]
)
@pytest.mark.parametrize("optimizer", [None, "adam"])
def test_parameters_outputs_and_gradients_keep_the_network_dtype(keywords, dtype, optimizer):
    x, y = small_images()
    # inputs of the other precision are converted, never let through
    other = np.float64 if dtype == np.float32 else np.float32
    net = conv_net(**keywords).fit(x.astype(other), y.astype(other), epochs=2, learning_rate=0.01,
                                   optimizer=optimizer, verbose=0)
    for layer, name, array in all_parameters(net):
        assert array.dtype == dtype, f"{layer.name}.{name}"
        assert layer.gradients[name].dtype == dtype, f"{layer.name} gradient of {name}"
    for layer in net.layers:
        assert layer.output.dtype == dtype, layer.name
    assert net.predict(x.astype(other)).dtype == dtype


# -- validation -------------------------------------------------------------------

def test_validation_split_adds_validation_figures_per_epoch():
    x, y = two_blobs(samples=40)
    net = tanh_net().fit(x, y, epochs=3, learning_rate=0.1, validation_split=0.25, verbose=0)
    assert len(net.history.history["val_loss"]) == 3
    assert len(net.history.history["val_accuracy"]) == 3


def test_validation_data_figures_are_those_of_evaluate():
    x, y = two_blobs(samples=40)
    x_val, y_val = two_blobs(samples=20, seed=1)
    net = tanh_net(dtype="float64").fit(x, y, epochs=2, learning_rate=0.1,
                                        validation_data=(x_val, y_val), verbose=0)
    expected = net.evaluate(x_val, y_val)
    assert net.history.history["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-12)
    assert net.history.history["val_accuracy"][-1] == pytest.approx(expected["accuracy"])


# -- learning ------------------------------------------------------------------------

def test_training_on_a_separable_problem_lowers_the_loss_and_classifies_it():
    x, y = two_blobs()
    net = tanh_net().fit(x, y, epochs=20, learning_rate=0.1, batch_size=8, seed=0, verbose=0)
    losses = net.history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert net.evaluate(x, y)["accuracy"] >= 0.95


def test_a_softmax_activation_layer_trains_with_mse():
    x, y = two_blobs()
    net = (NeuralNetwork()
           .add(FCLayer(8)).add(ActivationLayer(tanh, tanh_prime))
           .add(FCLayer(2)).add(ActivationLayer(softmax, softmax_prime))
           .use(mse, mse_prime)
           .fit(x, y, epochs=20, learning_rate=0.5, batch_size=8, seed=0, verbose=0))
    losses = net.history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    np.testing.assert_allclose(net.predict(x).sum(axis=1), 1.0, rtol=1e-5)


# -- divergence, progress and user weights --------------------------------------------

def test_training_diverged_is_raised_and_the_history_so_far_is_kept():
    x, y = two_blobs()
    net = (NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
           .fit(x, y, epochs=2, learning_rate=0.01, verbose=0))
    calm = list(net.history.history["loss"])
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged, match="the loss became (inf|nan)"):
        net.fit(x * 1e3, y, epochs=10, learning_rate=1e6, verbose=0)
    losses = net.history.history["loss"]
    assert losses[:2] == calm
    # the diverged epoch is not recorded; the finite ones before it are
    assert len(losses) < 12 and all(math.isfinite(loss) for loss in losses)
    assert net.history.stopped_early.startswith("loss became")


def test_verbose_zero_prints_nothing(capsys):
    x, y = two_blobs()
    tanh_net().fit(x, y, epochs=2, learning_rate=0.1, verbose=0, validation_split=0.2).predict(x)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_two_prints_one_line_per_epoch(capsys):
    x, y = two_blobs()
    tanh_net().fit(x, y, epochs=3, learning_rate=0.1, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]


def test_weights_assigned_by_the_user_are_used():
    layer = FCLayer(2)
    layer.weights = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    layer.bias = np.array([0.5, -0.5])
    net = NeuralNetwork(dtype="float64").add(layer)
    x = np.array([[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]])
    np.testing.assert_array_equal(net.predict(x), [[6.5, 7.5], [6.5, 7.5]])


def test_ctrl_c_during_fit_keeps_the_model_and_the_finished_epochs(monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 5)), one_hot(rng.integers(0, 3, 32), 3)
    net = NeuralNetwork().add(FCLayer(4)).add(ActivationLayer(tanh, tanh_prime)).add(FCLayer(3)).use(mse, mse_prime)
    steps = {"count": 0}
    last_layer = net.layers[-1]
    backward = last_layer.backward

    def interrupted_in_the_third_epoch(error, **keywords):
        steps["count"] += 1
        if steps["count"] == 2 * 4 + 2:  # 4 steps per epoch at batch 8
            raise KeyboardInterrupt
        return backward(error, **keywords)

    monkeypatch.setattr(last_layer, "backward", interrupted_in_the_third_epoch)
    assert net.fit(x, y, epochs=5, learning_rate=0.1, batch_size=8, verbose=0, seed=1) is net
    assert net.history.epoch == [1, 2]
    assert net.history.stopped_early == "interrupted during epoch 3"
    assert all(not layer.reuse_buffers for layer in net.layers)
    predictions = net.predict(x)
    assert predictions.shape == (32, 3) and np.isfinite(predictions).all()


# -- seeds, optimizers kept between fits, what a fit records ---------------------

def initial_weights(**fit_keywords):
    """The weights a seeded fit starts from (a learning rate too small to move float64 weights)."""
    x, y = small_images(samples=16)
    net = conv_net(dtype="float64")
    net.fit(x, y, epochs=1, learning_rate=1e-30, seed=3, verbose=0, **{"batch_size": 4, **fit_keywords})
    return [array.copy() for _, _, array in all_parameters(net)]


@pytest.mark.parametrize("other", [{"shuffle": False}, {"validation_split": 0.25}, {"batch_size": 16}])
def test_the_same_seed_draws_the_same_weights_whatever_the_shuffles_and_split(other):
    reference = initial_weights()
    for expected, got in zip(reference, initial_weights(**other)):
        # the zero biases moved by ~1e-31 in one step; a different draw differs by ~1
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-20)


def test_a_new_fit_forgets_why_the_last_one_stopped_early():
    x, y = two_blobs()
    net = NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged):
        net.fit(x * 1e3, y, epochs=3, learning_rate=1e6, verbose=0)
    assert net.history.stopped_early is not None
    net.layers[0].reset_parameters()  # new weights for a calm fit
    net.fit(x, y, epochs=1, learning_rate=1e-3, verbose=0)
    assert net.history.stopped_early is None


def test_regression_targets_record_no_accuracy():
    x, _ = two_blobs()
    targets = np.stack([x.sum(axis=1), x[:, 0] - x[:, 1]], axis=1)  # two real outputs, not one-hot
    net = NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
    net.fit(x, targets, epochs=2, learning_rate=0.01, validation_split=0.25, verbose=0)
    assert sorted(net.history.history) == ["loss", "val_loss"]
    assert sorted(net.evaluate(x, targets)) == ["loss"]


def test_float64_targets_keep_a_float32_networks_backward_pass_in_float32():
    x, y = small_images()
    net = conv_net()
    output = net.forward(x)
    error = mse_prime(y.astype(np.float64), output)
    assert mse(y.astype(np.float64), output).dtype == error.dtype == np.float32
    for layer in reversed(net.layers):
        error = layer.backward_propagation(error, 0.1)
    assert all(array.dtype == np.float32 for _, _, array in all_parameters(net))


def test_sample_shape_is_that_of_the_last_inputs_and_none_before():
    x, y = small_images()
    net = conv_net()
    assert net.sample_shape is None and NeuralNetwork().sample_shape is None
    net.fit(x, y, epochs=1, learning_rate=0.1, verbose=0)
    assert net.sample_shape == (8, 8, 1)
