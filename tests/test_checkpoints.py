"""ModelCheckpoint (batchnet.training.checkpoints): what is saved when, and a failing save keeps the old file."""

import errno

import numpy as np
import pytest

from batchnet import Callback, FCLayer, ModelCheckpoint, NeuralNetwork, load_model, mse, mse_prime, one_hot


def blobs(samples=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, 3)).astype(np.float32), one_hot(rng.integers(0, 2, samples), 2)


def linear_net():
    return NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)


class WeightsRecorder(Callback):
    def __init__(self):
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch] = self.network.layers[0].weights.copy()


def test_every_epoch_is_saved_under_its_own_name_with_that_epochs_weights(tmp_path):
    x, y = blobs()
    recorder = WeightsRecorder()
    checkpoint = ModelCheckpoint(tmp_path / "model-{epoch:02d}-{loss:.3f}.npz", monitor="loss")
    net = linear_net().fit(x, y, epochs=3, learning_rate=0.5, seed=0, verbose=0,
                           callbacks=[recorder, checkpoint])
    assert [epoch for epoch, _ in checkpoint.saved] == [1, 2, 3]
    for epoch, path in checkpoint.saved:
        assert path == str(tmp_path / f"model-{epoch:02d}-{net.history['loss'][epoch - 1]:.3f}.npz")
        np.testing.assert_array_equal(load_model(path).layers[0].weights, recorder.weights[epoch])


def test_save_best_only_saves_the_epochs_that_beat_the_best_so_far(tmp_path):
    x, y = blobs()
    recorder = WeightsRecorder()
    path = tmp_path / "best.npz"
    checkpoint = ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    net = linear_net().fit(x, y, epochs=8, learning_rate=2.0, validation_split=0.25, seed=3, verbose=0,
                           callbacks=[recorder, checkpoint])
    losses = net.history["val_loss"]
    new_bests = [epoch for epoch in range(1, 9) if losses[epoch - 1] < min(losses[:epoch - 1], default=np.inf)]
    assert [epoch for epoch, _ in checkpoint.saved] == new_bests
    assert checkpoint.best_epoch == new_bests[-1] == int(np.argmin(losses)) + 1
    np.testing.assert_array_equal(load_model(path).layers[0].weights, recorder.weights[new_bests[-1]])


def test_save_best_only_on_accuracy_keeps_the_most_accurate_epoch(tmp_path):
    x, y = blobs()
    checkpoint = ModelCheckpoint(tmp_path / "best.npz", monitor="accuracy", save_best_only=True)
    net = linear_net().fit(x, y, epochs=6, learning_rate=0.5, seed=0, verbose=0, callbacks=[checkpoint])
    assert checkpoint.best_epoch == int(np.argmax(net.history["accuracy"])) + 1


def test_a_save_that_fails_keeps_the_last_checkpoint_and_leaves_nothing_behind(tmp_path, monkeypatch):
    x, y = blobs()
    recorder = WeightsRecorder()
    path = tmp_path / "model.npz"
    real_savez = np.savez
    calls = []

    def disk_full_on_the_second_save(file, **arrays):
        calls.append(1)
        if len(calls) == 2:
            file.write(b"half a model")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_savez(file, **arrays)

    monkeypatch.setattr(np, "savez", disk_full_on_the_second_save)
    net = linear_net()
    with pytest.raises(OSError, match="No space left on device") as caught:
        net.fit(x, y, epochs=3, learning_rate=0.5, seed=0, verbose=0,
                callbacks=[recorder, ModelCheckpoint(path, monitor="loss")])
    assert caught.value.filename == str(path)
    assert net.history.epoch == [1, 2]
    np.testing.assert_array_equal(load_model(path).layers[0].weights, recorder.weights[1])
    assert sorted(item.name for item in tmp_path.iterdir()) == ["model.npz"]


def test_a_checkpoint_into_a_missing_folder_is_refused_before_any_epoch(tmp_path):
    x, y = blobs()
    net = linear_net()
    with pytest.raises(FileNotFoundError, match="no such folder"):
        net.fit(x, y, epochs=2, learning_rate=0.5, verbose=0,
                callbacks=[ModelCheckpoint(tmp_path / "missing" / "model.npz")])
    assert net.history.epoch == []


def test_save_best_only_on_val_loss_without_validation_names_the_figures_there(tmp_path):
    x, y = blobs()
    with pytest.raises(ValueError, match=r"ModelCheckpoint: monitor 'val_loss' is not among the epoch's "
                                         r"figures \(accuracy, loss\)"):
        linear_net().fit(x, y, epochs=1, learning_rate=0.5, verbose=0,
                         callbacks=[ModelCheckpoint(tmp_path / "m.npz", save_best_only=True)])


def test_a_path_field_that_is_no_figure_names_the_fields_there(tmp_path):
    x, y = blobs()
    with pytest.raises(ValueError, match=r"cannot fill in the path .*KeyError: 'val_acc'.* "
                                         r"epoch and the epoch's figures \(accuracy, loss\)"):
        linear_net().fit(x, y, epochs=1, learning_rate=0.5, verbose=0,
                         callbacks=[ModelCheckpoint(str(tmp_path / "m-{val_acc}.npz"))])


def test_a_checkpoint_path_must_be_a_path():
    with pytest.raises(TypeError, match="ModelCheckpoint: expected a path"):
        ModelCheckpoint(3)
