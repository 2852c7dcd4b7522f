"""Learning-rate schedules (batchnet.training.schedules): the rate of every epoch against the direct formula."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from batchnet import (SGD, Adam, Callback, CosineAnnealing, ExponentialDecay, FCLayer, NeuralNetwork,
                      ReduceLROnPlateau, StepDecay, mse, mse_prime, one_hot)


def blobs(samples=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, 3)).astype(np.float32), one_hot(rng.integers(0, 2, samples), 2)


class RateRecorder(Callback):
    """Notes the optimizer's learning rate at the start of every epoch (placed after the schedule)."""

    def __init__(self):
        self.rates = []

    def on_epoch_begin(self, epoch, logs=None):
        self.rates.append(self.network.optimizer.learning_rate)


def rates_over(schedule, epochs, **fit_options):
    x, y = blobs()
    recorder = RateRecorder()
    network = NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
    network.fit(x, y, epochs=epochs, verbose=0, callbacks=[schedule, recorder], **fit_options)
    return recorder.rates, network


SCHEDULES = [
    (StepDecay(step_size=3, gamma=0.5), lambda t, lr0: lr0 * 0.5 ** (t // 3)),
    (StepDecay(step_size=1), lambda t, lr0: lr0 * 0.1 ** t),
    (ExponentialDecay(gamma=0.8), lambda t, lr0: lr0 * 0.8 ** t),
    (CosineAnnealing(epochs=5), lambda t, lr0: lr0 * (1 + math.cos(math.pi * min(t, 5) / 5)) / 2),
    (CosineAnnealing(epochs=4, min_lr=0.01),
     lambda t, lr0: 0.01 + (lr0 - 0.01) * (1 + math.cos(math.pi * min(t, 4) / 4)) / 2),
]


@pytest.mark.parametrize("schedule, formula", SCHEDULES, ids=lambda item: type(item).__name__)
def test_plain_sgd_from_fits_learning_rate_follows_the_formula(schedule, formula):
    rates, network = rates_over(schedule, 7, learning_rate=0.2)
    assert type(network.optimizer) is SGD
    assert rates == pytest.approx([formula(t, 0.2) for t in range(7)], rel=1e-12, abs=0)


@pytest.mark.parametrize("schedule, formula", SCHEDULES, ids=lambda item: type(item).__name__)
def test_an_optimizer_instance_follows_the_formula_from_its_own_rate(schedule, formula):
    rates, _ = rates_over(schedule, 6, optimizer=Adam(3e-3))
    assert rates == pytest.approx([formula(t, 3e-3) for t in range(6)], rel=1e-12, abs=0)


def test_cosine_annealing_ends_at_min_lr_and_stays_there():
    rates, _ = rates_over(CosineAnnealing(epochs=3, min_lr=0.05), 5, learning_rate=0.5)
    assert rates[0] == 0.5
    assert rates[3:] == [0.05, 0.05]


def test_the_scheduled_rate_is_the_one_the_steps_use():
    # full-batch, unshuffled gradient descent: two epochs of ExponentialDecay(0.5) from 0.1 are
    # one epoch at 0.1 then one at 0.05
    x, y = blobs()
    scheduled = NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
    scheduled.fit(x, y, epochs=2, learning_rate=0.1, batch_size=len(x), shuffle=False, seed=1, verbose=0,
                  callbacks=[ExponentialDecay(0.5)])
    by_hand = NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
    by_hand.fit(x, y, epochs=1, learning_rate=0.1, batch_size=len(x), shuffle=False, seed=1, verbose=0)
    by_hand.fit(x, y, epochs=1, learning_rate=0.05, batch_size=len(x), shuffle=False, verbose=0)
    np.testing.assert_array_equal(scheduled.layers[0].weights, by_hand.layers[0].weights)
    np.testing.assert_array_equal(scheduled.layers[0].bias, by_hand.layers[0].bias)


def test_a_second_fit_starts_the_schedule_afresh_from_the_optimizers_rate():
    x, y = blobs()
    optimizer = SGD(0.4)
    schedule, recorder = StepDecay(step_size=1, gamma=0.5), RateRecorder()
    network = NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
    network.fit(x, y, epochs=2, optimizer=optimizer, verbose=0, callbacks=[schedule, recorder])
    network.fit(x, y, epochs=2, optimizer=optimizer, verbose=0, callbacks=[schedule, recorder])
    assert recorder.rates == [0.4, 0.2, 0.2, 0.1]


def plateau_run(values, **options):
    """Drive ReduceLROnPlateau by hand with a sequence of val_loss figures; the rate after each epoch."""
    network = SimpleNamespace(optimizer=SGD(1.0), stop_training=False)
    plateau = ReduceLROnPlateau(**options)
    plateau.set_network(network)
    plateau.on_train_begin({})
    rates = []
    for epoch, value in enumerate(values, start=1):
        plateau.on_epoch_end(epoch, {"loss": 0.0, "val_loss": value})
        rates.append(network.optimizer.learning_rate)
    return rates, plateau


def test_reduce_on_plateau_lowers_the_rate_after_more_than_patience_epochs_without_improvement():
    # best 1.0 at epoch 1; epochs 2 and 3 do not improve (patience 1): lowered after epoch 3;
    # epoch 4 improves; 5 and 6 do not: lowered again after 6
    rates, plateau = plateau_run([1.0, 1.0, 1.2, 0.5, 0.6, 0.5], patience=1, factor=0.5, min_delta=0.0)
    assert plateau.reductions == [3, 6]
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_reduce_on_plateau_counts_an_improvement_smaller_than_min_delta_as_none():
    rates, plateau = plateau_run([1.0, 0.95, 0.9], patience=0, factor=0.1, min_delta=0.1)
    assert plateau.reductions == [2, 3]
    assert rates == pytest.approx([1.0, 0.1, 0.01], rel=1e-12)


def test_reduce_on_plateau_never_goes_below_min_lr():
    rates, _ = plateau_run([1.0, 2.0, 2.0, 2.0], patience=0, factor=0.1, min_lr=0.05)
    assert rates == pytest.approx([1.0, 0.1, 0.05, 0.05], rel=1e-12)


def test_reduce_on_plateau_on_accuracy_wants_it_larger():
    network = SimpleNamespace(optimizer=SGD(1.0), stop_training=False)
    plateau = ReduceLROnPlateau(monitor="accuracy", patience=0, factor=0.5)
    plateau.set_network(network)
    plateau.on_train_begin({})
    for epoch, accuracy in enumerate([0.5, 0.7, 0.6], start=1):
        plateau.on_epoch_end(epoch, {"loss": 1.0, "accuracy": accuracy})
    assert plateau.reductions == [3]


def test_reduce_on_plateau_in_a_fit_without_validation_names_the_figures_there():
    x, y = blobs()
    network = NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
    with pytest.raises(ValueError, match=r"monitor 'val_loss' is not among the epoch's figures "
                                         r"\(accuracy, loss\) \(val_ figures need validation_data"):
        network.fit(x, y, epochs=2, learning_rate=0.1, verbose=0, callbacks=[ReduceLROnPlateau()])


@pytest.mark.parametrize("make, message", [
    (lambda: StepDecay(0), "StepDecay: step_size must be a positive int, got 0"),
    (lambda: StepDecay(2, gamma=0), r"StepDecay: gamma must be a number in \(0, 1\], got 0"),
    (lambda: ExponentialDecay(1.5), r"ExponentialDecay: gamma must be a number in \(0, 1\], got 1.5"),
    (lambda: CosineAnnealing(2.5), "CosineAnnealing: epochs must be a positive int, got 2.5"),
    (lambda: CosineAnnealing(3, min_lr=-1), "CosineAnnealing: min_lr must be a finite number >= 0, got -1"),
    (lambda: ReduceLROnPlateau(factor=1.0), "ReduceLROnPlateau: factor must be < 1"),
    (lambda: ReduceLROnPlateau(patience=-1), "ReduceLROnPlateau: patience must be an int >= 0, got -1"),
    (lambda: ReduceLROnPlateau(monitor="val_mae"), "monitor 'val_mae' names no loss or accuracy"),
])
def test_bad_schedule_settings_are_refused_with_what_was_expected(make, message):
    with pytest.raises(ValueError, match=message):
        make()
