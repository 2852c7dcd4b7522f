"""Callbacks: code a user hands to ``fit`` to run at the start and end of training and of each epoch.

A callback subclasses :class:`Callback` and overrides the hooks it needs.
``fit`` sets ``callback.network`` before the first hook. A callback stops
training by setting ``network.stop_training = True`` (the epoch under way
finishes first); a learning-rate schedule sets
``network.optimizer.learning_rate`` in ``on_epoch_begin``, which the
optimizer reads at every step.

Beside the interface live the callbacks that watch a figure of the epoch:
:class:`Monitor` (which figure, which way is better) and :class:`EarlyStopping`.
Learning-rate schedules are in :mod:`batchnet.training.schedules`, model
checkpoints in :mod:`batchnet.training.checkpoints`.
"""

import math
import numbers


class Callback:
    """The interface: every hook does nothing unless overridden.

    ``logs`` in ``on_epoch_end`` holds the epoch's figures, as recorded in
    the history (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``).
    Epochs are numbered as in ``network.history.epoch``: from 1, and on from
    the last epoch of an earlier ``fit``.
    """

    network = None

    def set_network(self, network):
        self.network = network

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


class CallbackList:
    """The callbacks of one ``fit``, called in the order given."""

    def __init__(self, callbacks, network):
        callbacks = [] if callbacks is None else list(callbacks)
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"NeuralNetwork.fit: callbacks must be Callback instances, got {type(callback).__name__}"
                )
        self.callbacks = callbacks
        self.network = network
        for callback in callbacks:
            callback.set_network(network)

    def on_train_begin(self):
        for callback in self.callbacks:
            callback.on_train_begin({})

    def on_epoch_begin(self, epoch):
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, {})

    def on_epoch_end(self, epoch, logs):
        """Call every callback; the name of the first that asked to stop training, else None."""
        stopped_by = None
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, dict(logs))
            if stopped_by is None and self.network.stop_training:
                stopped_by = type(callback).__name__
        return stopped_by

    def on_train_end(self):
        for callback in self.callbacks:
            callback.on_train_end({})


class Monitor:
    """One figure of the epoch's logs to watch (``"val_loss"``, ``"accuracy"``, ...), and which way is better.

    The direction comes from the name: a name ending in ``loss`` is better
    smaller, one ending in ``accuracy`` better larger. ``improved(value)``
    says whether ``value`` beats the best so far by more than ``min_delta``,
    and keeps it as the new best if so.
    """

    def __init__(self, name, min_delta, owner):
        if not isinstance(name, str):
            raise TypeError(f"{owner}: monitor must be the name of a figure, got {type(name).__name__}")
        if name.endswith("loss"):
            self.larger_is_better = False
        elif name.endswith("accuracy"):
            self.larger_is_better = True
        else:
            raise ValueError(
                f"{owner}: monitor {name!r} names no loss or accuracy, so whether larger is better is "
                "unknown; expected a name ending in 'loss' or 'accuracy' (loss, accuracy, val_loss, val_accuracy)"
            )
        self.name = name
        self.min_delta = non_negative(min_delta, "min_delta", owner)
        self.owner = owner
        self.best = None

    def value(self, logs):
        """The monitored figure in ``logs``; a ValueError naming the figures there when it is missing."""
        if self.name not in logs:
            hint = " (val_ figures need validation_data or validation_split)" if self.name.startswith("val_") else ""
            raise ValueError(
                f"{self.owner}: monitor {self.name!r} is not among the epoch's figures "
                f"({', '.join(sorted(logs))}){hint}"
            )
        return float(logs[self.name])

    def improved(self, value):
        # a NaN fails both comparisons: it is never an improvement, nor the first best
        if self.best is None:
            better = value == value
        elif self.larger_is_better:
            better = value > self.best + self.min_delta
        else:
            better = value < self.best - self.min_delta
        if better:
            self.best = value
        return better


def non_negative(value, name, owner):
    """``value`` as a float if it is a finite real number >= 0, else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{owner}: {name} must be a finite number >= 0, got {value!r}")
    return float(value)


def patience_count(value, owner):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{owner}: patience must be an int >= 0, got {value!r}")
    return int(value)


class EarlyStopping(Callback):
    """Stop training once the monitored figure has stopped improving.

    After each epoch the ``monitor`` figure is compared with the best so far
    (see :class:`Monitor`: smaller is better for a loss, larger for an
    accuracy, by more than ``min_delta``). ``patience`` epochs in a row
    without improvement are tolerated; the next one stops training
    (``patience=0``: the first epoch that does not improve), as PyTorch's
    ``ReduceLROnPlateau`` counts.

    ``restore_best=True`` keeps a copy of the parameters of the best epoch,
    and of the layers' state (batch norm's running statistics, which belong
    to those weights), (on the network's backend, so nothing moves to the host) and writes them
    back into the layers when training ends, however it ends short of an
    error. ``best_epoch``, ``best`` and ``stopped_epoch`` (None if it never
    stopped training) say what happened.
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, restore_best=False):
        self.monitor = Monitor(monitor, min_delta, "EarlyStopping")
        self.patience = patience_count(patience, "EarlyStopping")
        self.restore_best = bool(restore_best)
        self._reset()

    def _reset(self):
        self.monitor.best = None
        self.wait = 0
        self.best_epoch = None
        self.stopped_epoch = None
        self._best_parameters = None

    @property
    def best(self):
        return self.monitor.best

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor.improved(self.monitor.value(logs)):
            self.wait = 0
            self.best_epoch = epoch
            if self.restore_best:
                self._best_parameters = [{name: array.copy() for name, array in layer.saved_arrays().items()}
                                         for layer in self.network.layers]
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.network.stop_training = True

    def on_train_end(self, logs=None):
        if self._best_parameters is None:
            return
        for layer, saved in zip(self.network.layers, self._best_parameters):
            for name, array in saved.items():
                # in place: the optimizer's state and any layer replicas keep pointing at these arrays
                getattr(layer, name)[...] = array
        self._best_parameters = None
