"""Callbacks passed to fit (batchnet.training.callbacks): when each hook runs, stopping, learning-rate changes."""

import numpy as np
import pytest

from batchnet import Callback, FCLayer, NeuralNetwork, mse, mse_prime, one_hot


def blobs(samples=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, 3)).astype(np.float32), one_hot(rng.integers(0, 2, samples), 2)


def linear_net():
    return NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, logs))

    def on_train_end(self, logs=None):
        self.events.append(("train_end",))


def test_the_hooks_run_in_order_with_the_epochs_figures():
    x, y = blobs()
    recorder = Recorder()
    net = linear_net().fit(x, y, epochs=2, learning_rate=0.1, validation_split=0.25, verbose=0,
                           callbacks=[recorder])
    assert [event[:2] for event in recorder.events] == [
        ("train_begin",), ("epoch_begin", 1), ("epoch_end", 1), ("epoch_begin", 2), ("epoch_end", 2), ("train_end",)]
    assert recorder.network is net
    for index, epoch in enumerate((1, 2)):
        logs = recorder.events[2 + 2 * index][2]
        assert sorted(logs) == ["accuracy", "loss", "val_accuracy", "val_loss"]
        assert all(logs[name] == net.history[name][epoch - 1] for name in logs)


def test_a_second_fit_numbers_its_epochs_on_from_the_first():
    x, y = blobs()
    recorder = Recorder()
    net = linear_net().fit(x, y, epochs=2, learning_rate=0.1, verbose=0)
    net.fit(x, y, epochs=1, learning_rate=0.1, verbose=0, callbacks=[recorder])
    assert ("epoch_begin", 3) in recorder.events


class StopAfter(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.network.stop_training = True


def test_a_callback_stops_training_after_the_epoch_under_way():
    x, y = blobs()
    recorder = Recorder()
    net = linear_net().fit(x, y, epochs=5, learning_rate=0.1, verbose=0, callbacks=[StopAfter(2), recorder])
    assert net.history.epoch == [1, 2]
    assert net.history.stopped_early == "stopped by StopAfter after epoch 2"
    # the other callbacks still see the epoch's end, and the end of training
    assert recorder.events[-2][:2] == ("epoch_end", 2) and recorder.events[-1] == ("train_end",)
    net.fit(x, y, epochs=2, learning_rate=0.1, verbose=0)
    assert net.history.epoch == [1, 2, 3, 4] and net.history.stopped_early is None


class FreezeFrom(Callback):
    """A schedule: learning rate 0 from ``epoch`` on."""

    def __init__(self, epoch):
        self.epoch = epoch
        self.weights = []

    def on_epoch_begin(self, epoch, logs=None):
        if epoch >= self.epoch:
            self.network.optimizer.learning_rate = 0.0

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.network.layers[0].weights.copy())


def test_a_learning_rate_set_at_the_start_of_an_epoch_is_the_one_its_steps_use():
    x, y = blobs()
    runs = {}
    for first_frozen in (1, 2):
        runs[first_frozen] = FreezeFrom(first_frozen)
        (NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
         .fit(x, y, epochs=3, learning_rate=0.1, seed=0, verbose=0, callbacks=[runs[first_frozen]]))
    initial = runs[1].weights[0]  # frozen from the first step: the weights the seed drew
    assert all(np.array_equal(weights, initial) for weights in runs[1].weights)
    trained_once = runs[2].weights[0]
    assert not np.allclose(trained_once, initial)
    assert all(np.array_equal(weights, trained_once) for weights in runs[2].weights)


def test_something_that_is_not_a_callback_is_refused_before_training():
    x, y = blobs()
    net = linear_net()
    with pytest.raises(TypeError, match="callbacks must be Callback instances, got function"):
        net.fit(x, y, epochs=1, learning_rate=0.1, verbose=0, callbacks=[lambda epoch, logs: None])
    assert not net.layers[0].built and net.history.epoch == []
