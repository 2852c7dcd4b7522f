"""What fit, predict and evaluate refuse (batchnet.arguments): counts, seeds, settings, inputs and targets.

Each error names the method, what it expected and what it got.
"""

import numpy as np
import pytest

from batchnet import ConvolutionalLayer, FCLayer, FlattenLayer, NeuralNetwork, mse, mse_prime, one_hot
from batchnet.arguments import targets_like


@pytest.fixture
def images():
    return np.random.default_rng(0).random((4, 6, 6, 1)).astype(np.float32)


@pytest.fixture
def labels():
    return one_hot(np.array([0, 1, 2, 1]), 3)


def dense_net(loss=mse, loss_prime=mse_prime):
    return NeuralNetwork().add(FlattenLayer()).add(FCLayer(3)).use(loss, loss_prime)


def fit_quietly(net, x, y):
    return net.fit(x, y, epochs=1, learning_rate=0.1, verbose=0)


def conv_net():
    return (NeuralNetwork().add(ConvolutionalLayer(2, (3, 3))).add(FlattenLayer()).add(FCLayer(3))
            .use(mse, mse_prime))


@pytest.mark.parametrize("where", ["fit", "evaluate"])
def test_x_and_y_of_different_lengths_are_rejected(where, images, labels):
    net = dense_net()
    call = (lambda: fit_quietly(net, images, labels[:3])) if where == "fit" else (
        lambda: net.evaluate(images, labels[:3]))
    with pytest.raises(ValueError, match=rf"NeuralNetwork.{where}: x has 4 samples but y has 3"):
        call()


@pytest.mark.parametrize("x_shape", [(0, 6, 6, 1), (4,)], ids=["empty", "one-dimensional"])
def test_fit_rejects_an_empty_or_unbatched_input(x_shape, labels):
    with pytest.raises(ValueError, match=r"NeuralNetwork.fit: expected a non-empty batch \(N, \.\.\.\), got shape"):
        fit_quietly(dense_net(), np.zeros(x_shape, np.float32), labels[: x_shape[0]])


def test_predict_rejects_an_empty_batch():
    with pytest.raises(ValueError, match=r"NeuralNetwork.predict: expected a non-empty batch .*got shape \(0, 6, 6, 1\)"):
        dense_net().predict(np.zeros((0, 6, 6, 1), np.float32))


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_fit_rejects_non_finite_inputs(bad_value, images, labels):
    images[1, 2, 3, 0] = bad_value
    with pytest.raises(ValueError, match="NeuralNetwork.fit: inputs contain NaN or inf"):
        fit_quietly(dense_net(), images, labels)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_fit_rejects_non_finite_targets(bad_value, images, labels):
    labels[2, 0] = bad_value
    with pytest.raises(ValueError, match="NeuralNetwork.fit: targets contain NaN or inf"):
        fit_quietly(dense_net(), images, labels)


def test_predict_rejects_non_finite_inputs():
    with pytest.raises(ValueError, match="NeuralNetwork.predict: inputs contain NaN or inf"):
        dense_net().predict(np.full((2, 3), np.nan, np.float32))


def test_fit_rejects_uint8_images_with_a_hint_to_scale_them(images, labels):
    with pytest.raises(TypeError, match=r"NeuralNetwork.fit: expected float inputs, got dtype uint8 \(scale"):
        fit_quietly(dense_net(), (images * 255).astype(np.uint8), labels)


def test_fit_rejects_string_targets(images):
    with pytest.raises(TypeError, match="NeuralNetwork.fit: expected numeric targets, got dtype <U1"):
        fit_quietly(dense_net(), images, np.array(["a"] * 4))


@pytest.mark.parametrize(
    "keywords, message",
    [
        ({"epochs": 1.5}, "epochs must be a non-negative int, got 1.5"),
        ({"batch_size": 0}, "batch_size must be a positive int, got 0"),
        ({"validation_split": 1.0}, r"validation_split must be in \[0, 1\), got 1.0"),
        ({"learning_rate": 0}, "SGD: learning_rate must be positive, got 0"),
    ],
)
def test_fit_rejects_bad_training_arguments(keywords, message, images, labels):
    arguments = {"epochs": 1, "learning_rate": 0.1, "verbose": 0, **keywords}
    with pytest.raises(ValueError, match=message):
        dense_net().fit(images, labels, **arguments)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_predict_and_evaluate_reject_a_bad_batch_size(batch_size, images, labels):
    net = dense_net()
    with pytest.raises(ValueError, match=f"NeuralNetwork.predict: batch_size must be a positive int, got {batch_size}"):
        net.predict(images, batch_size=batch_size)
    with pytest.raises(ValueError, match=f"NeuralNetwork.evaluate: batch_size must be a positive int, got {batch_size}"):
        net.evaluate(images, labels, batch_size=batch_size)


def test_fit_refuses_validation_data_beside_validation_split(images, labels):
    with pytest.raises(ValueError, match="give validation_data or validation_split, not both"):
        dense_net().fit(images, labels, epochs=1, learning_rate=0.1, verbose=0,
                        validation_split=0.25, validation_data=(images, labels))


def test_validation_targets_of_the_wrong_shape_are_refused_before_training(images, labels):
    net = dense_net()
    with pytest.raises(ValueError, match=r"validation_data's y has samples of shape \(2,\), the training y \(3,\)"):
        net.fit(images, labels, epochs=1, learning_rate=0.1, verbose=0,
                validation_data=(images, labels[:, :2]))
    assert net.history.epoch == [] and all(not layer.parameters() for layer in net.layers)


@pytest.mark.parametrize(
    "keywords, message",
    [
        ({"epochs": True}, "epochs must be a non-negative int, got True"),
        ({"learning_rate": None}, "learning_rate is needed with optimizer=None"),
        ({"learning_rate": "0.1"}, "SGD: learning_rate must be a finite number, got '0.1'"),
        ({"learning_rate": float("inf")}, "SGD: learning_rate must be a finite number, got inf"),
        ({"optimizer": "adam", "learning_rate": float("nan")}, "Adam: learning_rate must be a finite number, got nan"),
        ({"validation_split": "0.2"}, r"validation_split must be in \[0, 1\), got '0.2'"),
    ],
)
def test_fit_names_the_argument_that_is_not_a_number(keywords, message, images, labels):
    arguments = {"epochs": 1, "learning_rate": 0.1, "verbose": 0, **keywords}
    with pytest.raises(ValueError, match=message):
        dense_net().fit(images, labels, **arguments)


def test_fit_takes_numpy_integers_for_counts(images, labels):
    net = dense_net().fit(images, labels, epochs=np.int64(2), learning_rate=0.1, batch_size=np.int32(2), verbose=0)
    assert net.history.epoch == [1, 2]


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_a_bad_seed_is_named_in_the_error(seed, images, labels):
    from batchnet import set_seed

    with pytest.raises(ValueError, match=f"seed: expected a non-negative int, got {seed!r}"):
        dense_net().fit(images, labels, epochs=1, learning_rate=0.1, verbose=0, seed=seed)
    with pytest.raises(ValueError, match="seed: expected a non-negative int"):
        set_seed(seed)


@pytest.mark.parametrize("verbose", [3, -1, 1.0, "1"])
def test_fit_refuses_a_verbose_level_it_does_not_have(verbose, images, labels):
    with pytest.raises(ValueError, match=f"verbose must be 0, 1 or 2, got {verbose!r}"):
        dense_net().fit(images, labels, epochs=1, learning_rate=0.1, verbose=verbose)


def test_predict_on_one_sample_says_to_make_it_a_batch(images, labels):
    net = conv_net()
    fit_quietly(net, images, labels)
    for one in (images[0], images[0, ..., 0]):
        with pytest.raises(ValueError, match=r"NeuralNetwork.predict: got one sample of shape \(6, 6(, 1)?\), "
                                             r"expected a batch \(N, 6, 6, 1\); for one sample pass x\[None\]"):
            net.predict(one)
    assert net.predict(images[0][None]).shape == (1, 3)


# -- targets with extra axes of size 1 (Aflak's (N, 1, 1) XOR targets) and 0/1 integer inputs ------------


def aflak_mse(y_true, y_pred):
    # Aflak's losses.py: NumPy broadcasting would make (N, 1, 1) - (N, 1) an (N, N, 1) difference
    return np.mean(np.power(y_true - y_pred, 2))


def aflak_mse_prime(y_true, y_pred):
    return 2 * (y_pred - y_true) / y_true.size


def trained_net(x, y, loss=mse, loss_prime=mse_prime, outputs=1):
    net = NeuralNetwork().add(FCLayer(outputs)).use(loss, loss_prime)
    net.fit(x, y, epochs=3, learning_rate=0.1, batch_size=3, seed=4, verbose=0)
    return net


@pytest.mark.parametrize("loss", [(mse, mse_prime), (aflak_mse, aflak_mse_prime)],
                         ids=["batchnet's mse", "Aflak's mse"])
def test_targets_with_extra_axes_of_size_one_train_as_the_outputs_shape_does(loss):
    rng = np.random.default_rng(3)
    x, y = rng.random((7, 2)).astype(np.float32), rng.random((7, 1)).astype(np.float32)
    expected = trained_net(x, y, *loss)
    for shape in [(7, 1, 1), (7, 1, 1, 1)]:
        net = trained_net(x, y.reshape(shape), *loss)
        np.testing.assert_array_equal(net.layers[0].weights, expected.layers[0].weights)
        np.testing.assert_array_equal(net.history.history["loss"], expected.history.history["loss"])


@pytest.mark.parametrize("shape", [(6, 1, 3), (6, 3, 1)])
def test_one_hot_targets_with_an_axis_of_size_one_count_as_classification(shape):
    x = np.random.default_rng(2).random((6, 4)).astype(np.float32)
    y = one_hot(np.array([0, 1, 2, 0, 1, 2]), 3)
    net = trained_net(x, y.reshape(shape), outputs=3)
    assert "accuracy" in net.history.history
    assert set(net.evaluate(x, y.reshape(shape))) == {"loss", "accuracy"}
    assert net.evaluate(x, y.reshape(shape)) == net.evaluate(x, y)


@pytest.mark.parametrize("shape, message", [
    ((4, 2), r"got \(4, 2\)"),
    ((4, 3, 1), r"got \(4, 3, 1\)"),
    ((4,), r"got \(4,\)"),
], ids=["another width", "an extra axis of size 3", "no feature axis"])
def test_targets_the_rule_does_not_fit_are_refused_naming_both_shapes(shape, message):
    x = np.zeros((4, 2), np.float32)
    net = NeuralNetwork().add(FCLayer(1)).use(mse, mse_prime)
    expected = r"mse: expected targets of shape \(4, 1\) like the network output, "
    with pytest.raises(ValueError, match=expected + message):
        fit_quietly(net, x, np.zeros(shape, np.float32))


@pytest.mark.parametrize("shape, output, reshaped", [
    ((1, 1), (1,), True),
    ((1, 10), (10,), True),
    ((10, 1), (10,), True),
    ((1, 3, 1), (3, 1), True),
    ((1, 3), (3, 1), False),
    ((3,), (3, 1), False),
    ((3, 1), (3, 1), False),
    ((2, 1), (1,), False),
    ((4, 5), (5, 4), False),
])
def test_the_targets_rule_drops_axes_of_size_one_only_keeping_the_order(shape, output, reshaped):
    targets = np.arange(2 * np.prod(shape)).reshape(2, *shape)
    matched = targets_like(targets, np.zeros((2, *output)))
    assert matched.shape == ((2, *output) if reshaped else targets.shape)
    np.testing.assert_array_equal(matched.ravel(), targets.ravel())


def test_integer_inputs_of_only_zeros_and_ones_train_as_their_floats_do():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([[0], [1], [1], [0]], np.float32)
    as_floats = trained_net(x.astype(np.float32), y)
    np.testing.assert_array_equal(trained_net(x, y).layers[0].weights, as_floats.layers[0].weights)
    np.testing.assert_array_equal(as_floats.predict(x), as_floats.predict(x.astype(np.float32)))


def test_integer_inputs_with_other_values_are_refused_as_unscaled_pixels():
    with pytest.raises(TypeError, match=r"NeuralNetwork.predict: expected float inputs, got dtype int64 \(scale "
                                        r"integer images first, e.g. x / 255; integer inputs of only 0 and 1"):
        dense_net().predict(np.array([[0, 2, 1]]))
