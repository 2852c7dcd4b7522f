"""The training loop behind ``NeuralNetwork.fit``: epochs of steps, and the evaluation passes.

A step is forward, loss, backward, gradient reduction, optimizer step. An
epoch is the steps over one (shuffled) order of the samples, then the
validation pass, the history and the callbacks. A few places are kept for
data-parallel training over processes (:mod:`batchnet.distributed.training`
fills them in for MPI): :meth:`TrainingLoop._local_batch`, where a rank keeps
its shard of each global batch, :meth:`TrainingLoop._reduce_gradients`, where
the ranks' gradients are averaged right before the optimizer step,
:meth:`TrainingLoop._new_metrics`, whose sums are added up across ranks, and
:meth:`TrainingLoop._evaluate`, the validation pass. In one process they
leave everything as it is.

Every layer reads ``layer.training``: True while the loop trains, False in
every inference pass (the validation pass, ``predict``, ``evaluate``), set
here before each pass and never guessed by the layers.
"""

import math

from batchnet.arguments import targets_like
from batchnet.training.callbacks import CallbackList
from batchnet.training.metrics import RunningMetrics, format_metrics


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite."""


def set_training(layers, training):
    """Tell every layer whether the next passes train (True) or infer (False)."""
    for layer in layers:
        layer.training = training


def evaluate(network, runner, x, y, classification, batch_size, metrics=None):
    """The loss (and accuracy) of ``network`` over ``(x, y)``, arrays already on its backend, in inference mode.

    ``metrics``: the empty :class:`~batchnet.training.metrics.RunningMetrics` to add the batches to (None: a new one).
    """
    set_training(network.layers, False)
    if metrics is None:
        metrics = RunningMetrics(network.backend, network.dtype, classification)
    for start in range(0, len(x), batch_size):
        output = runner.forward(x[start:start + batch_size])
        metrics.add(network.loss, targets_like(y[start:start + batch_size], output), output)
    return metrics.result()


class TrainingLoop:
    """One ``fit``'s training: ``run(x, y, epochs, validation)`` on data already on the backend.

    ``runner_for(training)`` gives the :class:`~batchnet.training.parallel.BatchRunner`
    for a mode; ``order_rng`` draws each epoch's order when ``shuffle``;
    ``verbose`` as in ``fit``; ``callbacks`` a
    :class:`~batchnet.training.callbacks.CallbackList` (None: no callbacks).
    """

    # Ctrl-C ends the epoch and keeps the model; a subclass whose processes wait
    # for each other in every step re-raises it instead (one rank stopping alone would hang the rest)
    interrupt_ends_training = True

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
                    figures = self._evaluate(self.runner_for(False), *validation, max(self.batch_size, 256))
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
        metrics = self._new_metrics(classification)
        try:
            for step, start in enumerate(range(0, samples, self.batch_size)):
                # bounded by the samples, so that the slice's length is the batch's
                rows = slice(start, min(start + self.batch_size, samples))
                indices = self._local_batch(order[rows] if order is not None else rows)
                self.step(runner, x[indices], y[indices], metrics)
                if progress is not None:
                    progress.update(step + 1, metrics.running_loss)
        except KeyboardInterrupt:
            if not self.interrupt_ends_training:
                raise
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
        if len(x_batch):  # a process's shard of a last, small global batch can be empty
            output = runner.forward(x_batch)
            y_batch = targets_like(y_batch, output)
            metrics.add(network.loss, y_batch, output)
            runner.backward(network.loss_prime(y_batch, output))
        self._reduce_gradients(network.layers)
        network.optimizer.step(network.layers)

    def _local_batch(self, indices):
        """The rows of the global batch ``indices`` (an index array, or a slice within the samples)
        this process trains on: all of them in one process."""
        return indices

    def _new_metrics(self, classification):
        """The running sums of an epoch: this process's alone in one process."""
        return RunningMetrics(self.network.backend, self.network.dtype, classification)

    def _evaluate(self, runner, x, y, classification, batch_size):
        """The validation pass over ``(x, y)``: all of it in one process."""
        return evaluate(self.network, runner, x, y, classification, batch_size)

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
