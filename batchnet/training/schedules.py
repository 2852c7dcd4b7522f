"""Learning-rate schedules: callbacks that set the optimizer's learning rate epoch by epoch.

A schedule sets ``network.optimizer.learning_rate``, which the optimizer
reads at every step, so it works with any optimizer, the plain SGD that
``fit(learning_rate=...)`` builds included. In the formulas ``lr0`` is the
optimizer's learning rate when the ``fit`` begins and ``t`` counts that
fit's epochs from 0: a second ``fit`` starts its schedule afresh from the
rate the optimizer then has.

:class:`StepDecay`, :class:`ExponentialDecay` and :class:`CosineAnnealing`
are functions of ``t``, set at the start of each epoch;
:class:`ReduceLROnPlateau` follows a monitored figure and lowers the rate
after an epoch's end, for the epochs after it.
"""

import math
import numbers

from batchnet.training.callbacks import Callback, Monitor, non_negative, patience_count


class EpochSchedule(Callback):
    """A learning rate that is a function of the epoch: subclasses give ``learning_rate_at(t, lr0)``."""

    def __init__(self):
        self.initial_learning_rate = None
        self._first_epoch = None

    def on_train_begin(self, logs=None):
        self.initial_learning_rate = self.network.optimizer.learning_rate
        self._first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch
        rate = self.learning_rate_at(epoch - self._first_epoch, self.initial_learning_rate)
        self.network.optimizer.learning_rate = rate

    def learning_rate_at(self, t, lr0):
        raise NotImplementedError


class StepDecay(EpochSchedule):
    """``lr_t = lr0 * gamma ** floor(t / step_size)``: the rate times ``gamma`` every ``step_size`` epochs."""

    def __init__(self, step_size, gamma=0.1):
        super().__init__()
        if isinstance(step_size, bool) or not isinstance(step_size, numbers.Integral) or step_size < 1:
            raise ValueError(f"StepDecay: step_size must be a positive int, got {step_size!r}")
        self.step_size = int(step_size)
        self.gamma = _factor(gamma, "gamma", "StepDecay")

    def learning_rate_at(self, t, lr0):
        return lr0 * self.gamma ** (t // self.step_size)


class ExponentialDecay(EpochSchedule):
    """``lr_t = lr0 * gamma ** t``: the rate times ``gamma`` every epoch."""

    def __init__(self, gamma):
        super().__init__()
        self.gamma = _factor(gamma, "gamma", "ExponentialDecay")

    def learning_rate_at(self, t, lr0):
        return lr0 * self.gamma ** t


class CosineAnnealing(EpochSchedule):
    """``lr_t = min_lr + (lr0 - min_lr) * (1 + cos(pi * min(t, epochs) / epochs)) / 2``.

    From ``lr0`` at the first epoch down along half a cosine to ``min_lr``
    at epoch ``t = epochs``, and ``min_lr`` after it (PyTorch's
    ``CosineAnnealingLR`` with ``T_max=epochs``, without restarts). With
    ``fit(epochs=E)`` and ``CosineAnnealing(E)`` the last epoch runs at just
    above ``min_lr``.
    """

    def __init__(self, epochs, min_lr=0.0):
        super().__init__()
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
            raise ValueError(f"CosineAnnealing: epochs must be a positive int, got {epochs!r}")
        self.epochs = int(epochs)
        self.min_lr = non_negative(min_lr, "min_lr", "CosineAnnealing")

    def learning_rate_at(self, t, lr0):
        progress = min(t, self.epochs) / self.epochs
        return self.min_lr + (lr0 - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2


class ReduceLROnPlateau(Callback):
    """``lr <- max(lr * factor, min_lr)`` once ``monitor`` has not improved for more than ``patience`` epochs.

    After each epoch the monitored figure is compared with the best so far
    (a loss is better smaller, an accuracy larger, by more than
    ``min_delta``; see :class:`~batchnet.training.callbacks.Monitor`). The
    ``patience + 1``-th epoch in a row without improvement lowers the rate,
    for the epochs that follow, and the count starts again (as PyTorch's
    ``ReduceLROnPlateau`` counts). ``reductions`` lists the epochs after
    which the rate was lowered.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, min_delta=1e-4, min_lr=0.0):
        self.monitor = Monitor(monitor, min_delta, "ReduceLROnPlateau")
        self.factor = _factor(factor, "factor", "ReduceLROnPlateau")
        if not self.factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1 to reduce the rate, got {factor!r}")
        self.patience = patience_count(patience, "ReduceLROnPlateau")
        self.min_lr = non_negative(min_lr, "min_lr", "ReduceLROnPlateau")
        self.wait = 0
        self.reductions = []

    def on_train_begin(self, logs=None):
        self.monitor.best = None
        self.wait = 0
        self.reductions = []

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor.improved(self.monitor.value(logs)):
            self.wait = 0
            return
        self.wait += 1
        if self.wait > self.patience:
            optimizer = self.network.optimizer
            optimizer.learning_rate = max(optimizer.learning_rate * self.factor, self.min_lr)
            self.reductions.append(epoch)
            self.wait = 0


def _factor(value, name, owner):
    """A multiplier of the learning rate: a finite number in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value <= 1:
        raise ValueError(f"{owner}: {name} must be a number in (0, 1], got {value!r}")
    return float(value)
