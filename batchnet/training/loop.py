"""The training loop behind ``NeuralNetwork.fit``: epochs of steps, and the evaluation passes.

A step is forward, loss, backward, gradient reduction, optimizer step. An
epoch is the steps over one (shuffled) order of the samples, then the
validation pass, the history and the callbacks. Two places are kept for
data-parallel training over processes: :meth:`TrainingLoop._local_batch`,
where a rank would keep its shard of each global batch, and
:meth:`TrainingLoop._reduce_gradients`, where the ranks' gradients would be
averaged right before the optimizer step (the epoch's loss and accuracy
sums would be added up across ranks in the same way). In one process both
leave everything as it is.

Every layer reads ``layer.training``: True while the loop trains, False in
every inference pass (the validation pass, ``predict``, ``evaluate``), set
here before each pass and never guessed by the layers.
"""

import math

from batchnet.training.callbacks import CallbackList
from batchnet.training.metrics import RunningMetrics, format_metrics


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite."""


def set_training(layers, training):
    """Tell every layer whether the next passes train (True) or infer (False)."""
    for layer in layers:
        layer.training = training


def evaluate(network, runner, x, y, classification, batch_size):
    """The loss (and accuracy) of ``network`` over ``(x, y)``, arrays already on its backend, in inference mode."""
    set_training(network.layers, False)
    metrics = RunningMetrics(network.backend, network.dtype, classification)
    for start in range(0, len(x), batch_size):
        x_batch, y_batch = x[start:start + batch_size], y[start:start + batch_size]
        metrics.add(network.loss, y_batch, runner.forward(x_batch))
    return metrics.result()


class TrainingLoop:
    """One ``fit``'s training: ``run(x, y, epochs, validation)`` on data already on the backend.

    ``runner_for(training)`` gives the :class:`~batchnet.training.parallel.BatchRunner`
    for a mode; ``order_rng`` draws each epoch's order when ``shuffle``;
    ``verbose`` as in ``fit``; ``callbacks`` a
    :class:`~batchnet.training.callbacks.CallbackList` (None: no callbacks).
    """

    def __init__(self, network, runner_for, batch_size, shuffle, order_rng, verbose, callbacks=None):
        self.network = network
        self.runner_for = runner_for
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.order_rng = order_rng
        self.verbose = verbose
        self.callbacks = CallbackList(None, network) if callbacks is None else callbacks

    def run(self, x, y, epochs, classification, validation=None):
        """Train ``epochs`` epochs on ``(x, y)``; ``validation`` is ``(x, y, classification)`` or None."""
        network = self.network
        first_epoch = len(network.history.epoch)
        last_epoch = first_epoch + epochs
        network.stop_training = False
        self.callbacks.on_train_begin()
        try:
            for epoch in range(first_epoch + 1, last_epoch + 1):
                self.callbacks.on_epoch_begin(epoch)
                progress = _progress(self.verbose, math.ceil(len(x) / self.batch_size), epoch, last_epoch)
                metrics = self.run_epoch(epoch, x, y, classification, progress)
                if metrics is None:
                    break
                if validation is not None:
                    figures = evaluate(network, self.runner_for(False), *validation, max(self.batch_size, 256))
                    metrics.update({f"val_{name}": value for name, value in figures.items()})
                network.history.record(epoch, metrics)
                if progress is not None:
                    progress.close(format_metrics(metrics))
                stopped_by = self.callbacks.on_epoch_end(epoch, metrics)
                if stopped_by is not None:
                    network.history.stopped_early = f"stopped by {stopped_by} after epoch {epoch}"
                    break
        finally:
            set_training(network.layers, False)
        self.callbacks.on_train_end()

    def run_epoch(self, epoch, x, y, classification, progress):
        """One pass over the samples; the epoch's figures, or None if Ctrl-C stopped it.

        Raises :class:`TrainingDiverged` if the loss is no longer finite.
        """
        network = self.network
        set_training(network.layers, True)
        runner = self.runner_for(True)
        samples = len(x)
        order = network.backend.asarray(self.order_rng.permutation(samples)) if self.shuffle else None
        metrics = RunningMetrics(network.backend, network.dtype, classification)
        try:
            for step, start in enumerate(range(0, samples, self.batch_size)):
                rows = slice(start, start + self.batch_size)
                indices = self._local_batch(order[rows] if order is not None else rows)
                self.step(runner, x[indices], y[indices], metrics)
                if progress is not None:
                    progress.update(step + 1, metrics.running_loss)
        except KeyboardInterrupt:
            network.history.stopped_early = f"interrupted during epoch {epoch}"
            if progress is not None:
                progress.close(network.history.stopped_early)
            return None
        figures = metrics.result()
        if not math.isfinite(figures["loss"]):
            network.history.stopped_early = f"loss became {figures['loss']} in epoch {epoch}"
            if progress is not None:
                progress.close(network.history.stopped_early)
            raise TrainingDiverged(
                f"NeuralNetwork.fit: the loss became {figures['loss']} in epoch {epoch}; "
                "try a lower learning rate (the weights are kept as they were then)"
            )
        return figures

    def step(self, runner, x_batch, y_batch, metrics):
        """One update from one batch: forward, loss, backward, gradient reduction, optimizer step."""
        network = self.network
        output = runner.forward(x_batch)
        metrics.add(network.loss, y_batch, output)
        runner.backward(network.loss_prime(y_batch, output))
        self._reduce_gradients(network.layers)
        network.optimizer.step(network.layers)

    def _local_batch(self, indices):
        """The rows of the global batch ``indices`` this process trains on: all of them in one process."""
        return indices

    def _reduce_gradients(self, layers):
        """Average ``layer.gradients`` across processes: the one place for it, a no-op in one process.

        Each process's gradients are means over its equal shard of the
        global batch, so their average is the global batch's gradient.
        """


def _progress(verbose, steps, epoch, epochs):
    if not verbose:
        return None
    from batchnet.training.progress import EpochProgress

    return EpochProgress(steps, epoch, epochs, bar=verbose == 1)
