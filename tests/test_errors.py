"""Bad input gets a clear ValueError/TypeError naming the layer, what it expected and what it got."""

import numpy as np
import pytest

from batchnet import (
    ConvolutionalLayer,
    FCLayer,
    FlattenLayer,
    NeuralNetwork,
    mse,
    mse_prime,
    one_hot,
    softmax_cross_entropy,
    softmax_cross_entropy_prime,
    tanh_prime,
)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((4, 6, 6, 1)).astype(np.float32)


@pytest.fixture
def labels():
    return one_hot(np.array([0, 1, 2, 1]), 3)


def dense_net(loss=mse, loss_prime=mse_prime):
    return NeuralNetwork().add(FlattenLayer()).add(FCLayer(3)).use(loss, loss_prime)


def conv_net():
    return (NeuralNetwork().add(ConvolutionalLayer(2, (3, 3))).add(FlattenLayer()).add(FCLayer(3))
            .use(mse, mse_prime))


def fit_quietly(net, x, y):
    return net.fit(x, y, epochs=1, learning_rate=0.1, verbose=0)


# -- shapes -------------------------------------------------------------------

def test_network_rejects_a_five_dimensional_batch_naming_the_conv_layer(labels):
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: expected input \(N, H, W, C\), got shape \(4, 6, 6, 1, 1\)"):
        fit_quietly(conv_net(), np.zeros((4, 6, 6, 1, 1), np.float32), labels)


def test_predict_with_a_different_channel_count_names_the_conv_layer(images, labels):
    net = fit_quietly(conv_net(), images, labels)
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: .*C=1, got \(2, 6, 6, 2\)"):
        net.predict(np.zeros((2, 6, 6, 2), np.float32))


@pytest.mark.parametrize("where", ["fit", "evaluate"])
def test_x_and_y_of_different_lengths_are_rejected(where, images, labels):
    net = dense_net()
    call = (lambda: fit_quietly(net, images, labels[:3])) if where == "fit" else (
        lambda: net.evaluate(images, labels[:3]))
    with pytest.raises(ValueError, match=rf"NeuralNetwork.{where}: x has 4 samples but y has 3"):
        call()


def test_targets_of_the_wrong_width_name_both_shapes(images):
    with pytest.raises(ValueError, match=r"mse: expected targets of shape \(4, 3\) .*got \(4, 4\)"):
        fit_quietly(dense_net(), images, one_hot(np.array([0, 1, 2, 3]), 4))


@pytest.mark.parametrize("x_shape", [(0, 6, 6, 1), (4,)], ids=["empty", "one-dimensional"])
def test_fit_rejects_an_empty_or_unbatched_input(x_shape, labels):
    with pytest.raises(ValueError, match=r"NeuralNetwork.fit: expected a non-empty batch \(N, \.\.\.\), got shape"):
        fit_quietly(dense_net(), np.zeros(x_shape, np.float32), labels[: x_shape[0]])


def test_predict_rejects_an_empty_batch():
    with pytest.raises(ValueError, match=r"NeuralNetwork.predict: expected a non-empty batch .*got shape \(0, 6, 6, 1\)"):
        dense_net().predict(np.zeros((0, 6, 6, 1), np.float32))


# -- values and dtypes --------------------------------------------------------

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


# -- labels -------------------------------------------------------------------

@pytest.mark.parametrize(
    "targets", [np.array([0, 1, 2, 1]), np.array([[0], [1], [2], [1]])], ids=["(N,)", "(N, 1)"]
)
def test_softmax_cross_entropy_rejects_class_indices(targets, images):
    net = dense_net(softmax_cross_entropy, softmax_cross_entropy_prime)
    with pytest.raises(ValueError, match=r"softmax_cross_entropy needs one-hot targets \(N, classes\), "
                                         r"got shape \(4,( 1)?\); encode labels with batchnet.one_hot"):
        fit_quietly(net, images, targets)


def test_softmax_cross_entropy_rejects_soft_targets(images):
    soft = np.full((4, 3), 1 / 3, np.float32)
    net = dense_net(softmax_cross_entropy, softmax_cross_entropy_prime)
    with pytest.raises(ValueError, match="softmax_cross_entropy needs one-hot targets"):
        fit_quietly(net, images, soft)


def test_mse_with_class_indices_says_they_look_like_class_indices(images):
    with pytest.raises(ValueError, match=r"mse: expected targets of shape \(4, 3\) like the network output, "
                                         r"got \(4,\) \(labels look like class indices"):
        fit_quietly(dense_net(), images, np.array([0, 1, 2, 1]))


def test_mse_called_directly_with_class_indices_says_so():
    with pytest.raises(ValueError, match=r"got \(4,\) \(labels look like class indices: one-hot encode"):
        mse(np.zeros(4), np.zeros((4, 10)))


# -- constructors -------------------------------------------------------------

def test_network_add_rejects_something_that_is_not_a_layer():
    with pytest.raises(TypeError, match="NeuralNetwork.add: expected a Layer, got function"):
        NeuralNetwork().add(tanh_prime)


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


def test_a_learning_rate_beside_an_optimizer_with_its_own_is_refused(images, labels):
    from batchnet import SGD

    with pytest.raises(ValueError, match=r"learning_rate=0.5 beside optimizer=SGD\(learning_rate=0.01\), "
                                         "which has its own: give one or the other"):
        dense_net().fit(images, labels, epochs=1, learning_rate=0.5, optimizer=SGD(0.01), verbose=0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: __import__("batchnet").Adam(0.01, epsilon=-1.0), "Adam: epsilon must be positive"),
        (lambda: __import__("batchnet").Adam(0.01, epsilon=0.0), "Adam: epsilon must be positive"),
        (lambda: __import__("batchnet").SGD(0.1, momentum=None), "SGD: momentum must be a finite number, got None"),
        (lambda: __import__("batchnet").SGD(0.1, weight_decay=float("nan")),
         "SGD: weight_decay must be a finite number, got nan"),
    ],
)
def test_optimizers_refuse_bad_settings(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_network_dtype_of_none_is_refused_not_read_as_float64():
    with pytest.raises(TypeError, match="NeuralNetwork: dtype must be float32 or float64, got None"):
        NeuralNetwork(dtype=None)


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
