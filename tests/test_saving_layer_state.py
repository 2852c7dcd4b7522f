"""Saving the layers that carry more than parameters: batch norm's running statistics, dropout's rate.

A model file, a checkpoint and EarlyStopping(restore_best) keep ``state_names``
(running_mean, running_var) beside the trained parameters: without them a
loaded network would normalize with fresh statistics and predict otherwise.
"""

import numpy as np
import pytest

from batchnet import (
    ActivationLayer,
    BatchNormalizationLayer,
    Callback,
    ConvolutionalLayer,
    DropoutLayer,
    EarlyStopping,
    FCLayer,
    FlattenLayer,
    ModelCheckpoint,
    NeuralNetwork,
    load_model,
    one_hot,
    relu,
    relu_prime,
    save_model,
    softmax_cross_entropy,
    softmax_cross_entropy_prime,
)
from batchnet.saving.model_file import ModelFileError
from saving_files import rewrite


def normalized_network(dtype="float32", momentum=0.8, epsilon=1e-3, rate=0.3):
    network = NeuralNetwork(dtype=dtype)
    network.add(ConvolutionalLayer(3, (3, 3), padding=1))
    network.add(BatchNormalizationLayer(momentum=momentum, epsilon=epsilon))
    network.add(ActivationLayer(relu, relu_prime))
    network.add(DropoutLayer(rate))
    network.add(FlattenLayer())
    network.add(FCLayer(5))
    network.add(BatchNormalizationLayer())
    network.add(FCLayer(3))
    return network.use(softmax_cross_entropy, softmax_cross_entropy_prime)


def data(samples=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, 6, 6, 2)).astype(np.float32)
    return x, one_hot(rng.integers(0, 3, samples), 3)


def trained_network(dtype="float32", epochs=2, **options):
    x, y = data()
    network = normalized_network(dtype, **options)
    network.fit(x.astype(dtype), y.astype(dtype), epochs=epochs, learning_rate=0.05, batch_size=4, seed=0, verbose=0)
    return network, x.astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_keeps_the_running_statistics_and_the_predictions(tmp_path, dtype):
    network, x = trained_network(dtype)
    batch_norm = network.layers[1]
    # the statistics moved away from their initial zeros and ones: the test can tell them apart
    assert not np.allclose(batch_norm.running_mean, 0) and not np.allclose(batch_norm.running_var, 1)
    save_model(network, tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    for index in (1, 6):
        for name in ("running_mean", "running_var", "gamma", "beta"):
            np.testing.assert_array_equal(getattr(loaded.layers[index], name), getattr(network.layers[index], name))
            assert getattr(loaded.layers[index], name).dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))


def test_layer_arguments_survive_the_round_trip(tmp_path):
    network, _ = trained_network(momentum=0.7, epsilon=1e-2, rate=0.4)
    save_model(network, tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert (loaded.layers[1].momentum, loaded.layers[1].epsilon) == (0.7, 1e-2)
    assert loaded.layers[3].rate == 0.4


def test_the_running_statistics_are_what_the_loaded_network_predicts_with(tmp_path):
    # without the saved statistics (fresh zeros and ones) the predictions would differ: they matter
    network, x = trained_network()
    save_model(network, tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    loaded.layers[1].running_mean[...] = 0
    loaded.layers[1].running_var[...] = 1
    assert not np.allclose(loaded.predict(x), network.predict(x))


def test_a_file_without_running_var_is_refused_and_names_it(tmp_path):
    network, _ = trained_network()
    save_model(network, tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz") as archive:
        key = next(name for name in archive.files if name.endswith("running_var") and name.startswith("layer1"))
    rewrite(tmp_path / "model.npz", **{key: None})
    with pytest.raises(ModelFileError, match="running_var"):
        load_model(tmp_path / "model.npz")


def test_running_statistics_of_the_wrong_size_are_refused(tmp_path):
    network, _ = trained_network()
    save_model(network, tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz") as archive:
        key = next(name for name in archive.files if name.endswith("running_mean") and name.startswith("layer1"))
    rewrite(tmp_path / "model.npz", **{key: np.zeros(4, np.float32)})
    with pytest.raises(ModelFileError, match="running_mean"):
        load_model(tmp_path / "model.npz")


def test_a_checkpoint_holds_that_epochs_running_statistics(tmp_path):
    class StatisticsRecorder(Callback):
        def __init__(self):
            self.running_var = {}

        def on_epoch_end(self, epoch, logs=None):
            self.running_var[epoch] = self.network.layers[1].running_var.copy()

    x, y = data()
    recorder = StatisticsRecorder()
    checkpoint = ModelCheckpoint(tmp_path / "model-{epoch}.npz", monitor="loss")
    normalized_network().fit(x, y, epochs=2, learning_rate=0.05, batch_size=4, seed=0, verbose=0,
                             callbacks=[recorder, checkpoint])
    for epoch, path in checkpoint.saved:
        np.testing.assert_array_equal(load_model(path).layers[1].running_var, recorder.running_var[epoch])
    assert not np.array_equal(recorder.running_var[1], recorder.running_var[2])


def test_restore_best_brings_back_the_best_epochs_running_statistics_too():
    class StatisticsRecorder(Callback):
        def __init__(self):
            self.running_mean = {}

        def on_epoch_end(self, epoch, logs=None):
            self.running_mean[epoch] = self.network.layers[1].running_mean.copy()

    x, y = data()
    recorder = StatisticsRecorder()
    # on these random labels validation loss is lowest at epoch 3 and worse after it
    stopper = EarlyStopping(monitor="val_loss", patience=10, restore_best=True)
    network = normalized_network().fit(x, y, epochs=6, learning_rate=0.2, batch_size=4, seed=0, verbose=0,
                                       validation_data=data(seed=1), callbacks=[recorder, stopper])
    assert stopper.best_epoch < 6
    np.testing.assert_array_equal(network.layers[1].running_mean, recorder.running_mean[stopper.best_epoch])
    assert not np.array_equal(network.layers[1].running_mean, recorder.running_mean[6])
