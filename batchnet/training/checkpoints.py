"""ModelCheckpoint: a callback that saves the model during training, each epoch or at each new best.

Files are written by :func:`batchnet.saving.save_model`, so a checkpoint is
replaced only once the new one is complete and on disk: a save that fails
(a full disk, a crash) leaves the last good checkpoint as it was.
"""

import os

from batchnet.saving import save_model
from batchnet.saving.atomic import check_output_path
from batchnet.training.callbacks import Callback, Monitor


class ModelCheckpoint(Callback):
    """Save the network to ``path`` after every epoch, or with ``save_best_only`` after each new best.

    ``path`` may hold format fields filled in per epoch, as in Keras:
    ``"model-{epoch:03d}-{val_loss:.3f}.npz"`` (``epoch`` and the epoch's
    figures); without any, each save replaces the last. ``monitor`` (a
    loss is better smaller, an accuracy larger) matters only with
    ``save_best_only``. ``saved`` lists ``(epoch, path)`` of every save;
    ``best_epoch`` is the last epoch saved as the best.

    The folder of a plain ``path`` is checked when training begins, before
    any epoch runs; a save that fails raises its ``OSError`` (naming the
    checkpoint's path) and ends training.
    """

    def __init__(self, path, monitor="val_loss", save_best_only=False):
        try:
            self.path = os.fsdecode(path)
        except TypeError:
            raise TypeError(f"ModelCheckpoint: expected a path (str or os.PathLike), got {type(path).__name__}") from None
        self.monitor = Monitor(monitor, 0.0, "ModelCheckpoint")
        self.save_best_only = bool(save_best_only)
        self.saved = []
        self.best_epoch = None

    def on_train_begin(self, logs=None):
        self.monitor.best = None
        self.saved = []
        self.best_epoch = None
        if "{" not in self.path:
            check_output_path(self.path)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            if not self.monitor.improved(self.monitor.value(logs)):
                return
            self.best_epoch = epoch
        path = self._path_for(epoch, logs)
        save_model(self.network, path)
        self.saved.append((epoch, path))

    def _path_for(self, epoch, logs):
        try:
            return self.path.format(epoch=epoch, **logs)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"ModelCheckpoint: cannot fill in the path {self.path!r} ({type(error).__name__}: {error}); "
                f"its fields can be epoch and the epoch's figures ({', '.join(sorted(logs))})"
            ) from None
