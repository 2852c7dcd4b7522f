"""Callbacks passed to fit (batchnet.training.callbacks): when each hook runs, stopping, learning-rate changes,
EarlyStopping."""

from types import SimpleNamespace

import numpy as np
import pytest

from batchnet import Callback, EarlyStopping, FCLayer, NeuralNetwork, mse, mse_prime, one_hot


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


def stopping_run(values, monitor="val_loss", **options):
    """Drive EarlyStopping by hand with one figure per epoch; the epoch after which it stopped training."""
    network = SimpleNamespace(stop_training=False, layers=[])
    stopping = EarlyStopping(monitor=monitor, **options)
    stopping.set_network(network)
    stopping.on_train_begin({})
    for epoch, value in enumerate(values, start=1):
        stopping.on_epoch_end(epoch, {monitor: value})
        if network.stop_training:
            break
    return stopping


@pytest.mark.parametrize("values, patience, stopped, best", [
    ([1.0, 0.9, 0.95, 0.8], 0, 3, 2),           # patience 0: the first epoch that does not improve
    ([1.0, 0.9, 0.95, 0.8, 0.85, 0.86], 1, 6, 4),  # one is tolerated, the second in a row stops
    ([1.0, 1.1, 1.2, 0.5, 0.6, 0.7, 0.8], 2, 7, 4),
    ([1.0, 0.9, 0.8, 0.7], 0, None, 4),         # always improving: never stops
])
def test_early_stopping_stops_after_more_than_patience_epochs_without_improvement(values, patience, stopped, best):
    stopping = stopping_run(values, patience=patience)
    assert stopping.stopped_epoch == stopped
    assert stopping.best_epoch == best and stopping.best == values[best - 1]


def test_early_stopping_counts_an_improvement_within_min_delta_as_none():
    assert stopping_run([1.0, 0.95, 0.5], patience=0, min_delta=0.1).stopped_epoch == 2
    assert stopping_run([1.0, 0.85, 0.5], patience=0, min_delta=0.1).stopped_epoch is None


def test_early_stopping_on_an_accuracy_wants_it_larger():
    stopping = stopping_run([0.5, 0.7, 0.6], monitor="val_accuracy", patience=0)
    assert stopping.stopped_epoch == 3 and stopping.best_epoch == 2


def test_early_stopping_never_takes_a_nan_for_an_improvement():
    nan = float("nan")
    stopping = stopping_run([nan, 1.0, nan, nan], patience=1)
    assert stopping.best_epoch == 2 and stopping.stopped_epoch == 4


class WeightsRecorder(Callback):
    def __init__(self):
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        layer = self.network.layers[0]
        self.weights[epoch] = (self.network.backend.to_numpy(layer.weights).copy(),
                               self.network.backend.to_numpy(layer.bias).copy())


def test_early_stopping_in_fit_stops_and_restores_the_best_epochs_weights(backend):
    x, y = blobs(32)
    recorder = WeightsRecorder()
    # no accuracy can rise by more than 1: epoch 1 stays the best, and the stop comes after epoch 3
    stopping = EarlyStopping(monitor="val_accuracy", patience=1, min_delta=1.0, restore_best=True)
    net = NeuralNetwork(backend=backend).add(FCLayer(2)).use(mse, mse_prime)
    net.fit(x, y, epochs=10, learning_rate=0.5, validation_split=0.25, seed=0, verbose=0,
            callbacks=[recorder, stopping])
    assert net.history.epoch == [1, 2, 3]
    assert net.history.stopped_early == "stopped by EarlyStopping after epoch 3"
    assert stopping.best_epoch == 1 and stopping.stopped_epoch == 3
    assert not np.array_equal(recorder.weights[3][0], recorder.weights[1][0])
    np.testing.assert_array_equal(backend.to_numpy(net.layers[0].weights), recorder.weights[1][0])
    np.testing.assert_array_equal(backend.to_numpy(net.layers[0].bias), recorder.weights[1][1])


def test_restore_best_picks_the_epoch_of_the_lowest_val_loss_even_without_a_stop():
    x, y = blobs(32)
    recorder = WeightsRecorder()
    stopping = EarlyStopping(patience=100, restore_best=True)
    net = NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
    net.fit(x, y, epochs=8, learning_rate=2.0, validation_split=0.25, seed=3, verbose=0,
            callbacks=[recorder, stopping])
    best = int(np.argmin(net.history["val_loss"])) + 1  # the first of equal minima, as "strictly better" keeps
    assert stopping.stopped_epoch is None and stopping.best_epoch == best
    np.testing.assert_array_equal(net.layers[0].weights, recorder.weights[best][0])


def test_without_restore_best_the_last_epochs_weights_stay():
    x, y = blobs(32)
    recorder = WeightsRecorder()
    net = NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
    net.fit(x, y, epochs=5, learning_rate=0.5, validation_split=0.25, seed=0, verbose=0,
            callbacks=[recorder, EarlyStopping(monitor="val_accuracy", patience=0, min_delta=1.0)])
    assert net.history.epoch == [1, 2]
    np.testing.assert_array_equal(net.layers[0].weights, recorder.weights[2][0])


def test_early_stopping_on_val_loss_without_validation_names_the_figures_there():
    x, y = blobs()
    with pytest.raises(ValueError, match=r"EarlyStopping: monitor 'val_loss' is not among the epoch's "
                                         r"figures \(accuracy, loss\) \(val_ figures need validation_data"):
        linear_net().fit(x, y, epochs=2, learning_rate=0.1, verbose=0, callbacks=[EarlyStopping()])


@pytest.mark.parametrize("options, message", [
    ({"monitor": "val_mae"}, "EarlyStopping: monitor 'val_mae' names no loss or accuracy"),
    ({"monitor": 3}, "EarlyStopping: monitor must be the name of a figure, got int"),
    ({"patience": 1.5}, "EarlyStopping: patience must be an int >= 0, got 1.5"),
    ({"min_delta": -0.1}, "EarlyStopping: min_delta must be a finite number >= 0, got -0.1"),
])
def test_bad_early_stopping_settings_are_refused(options, message):
    with pytest.raises((TypeError, ValueError), match=message):
        EarlyStopping(**options)
