"""Callbacks: code a user hands to ``fit`` to run at the start and end of training and of each epoch.

A callback subclasses :class:`Callback` and overrides the hooks it needs.
``fit`` sets ``callback.network`` before the first hook. A callback stops
training by setting ``network.stop_training = True`` (the epoch under way
finishes first); a learning-rate schedule sets
``network.optimizer.learning_rate`` in ``on_epoch_begin``, which the
optimizer reads at every step.
"""


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
