"""MPI glue for ``NeuralNetwork.fit/evaluate/predict(..., comm=)``: the training loop's hooks filled in.

Every rank calls ``fit`` with the same data and the same settings. The batch
order comes from one seed shared by every rank, so all ranks cut the same
global batches; each keeps its contiguous shard of each
(:meth:`DistributedLoop._local_batch`), the gradients are averaged in one
allreduce right before the optimizer step
(:meth:`DistributedLoop._reduce_gradients`), and the epoch's loss and
accuracy sums are added up over the ranks (:class:`RankMetrics`), so every
rank ends with the same weights and the same history. The network module
imports this only when a communicator is given.
"""

import contextlib

from batchnet.arguments import check_data, check_inputs, count, is_one_hot
from batchnet.distributed.communicator import Distributed
from batchnet.training.loop import TrainingLoop, evaluate, set_training
from batchnet.training.metrics import RunningMetrics


@contextlib.contextmanager
def on_ranks(comm):
    """``Distributed(comm)`` for the block, which ends every rank's process if it fails on this one."""
    distributed = Distributed(comm)
    with distributed.aborting_on_error():
        yield distributed


def agree(distributed, seed, verbose):
    """``(seed, verbose)`` for this rank: rank 0's seed (one batch order everywhere); progress on rank 0 alone."""
    return distributed.common_seed(seed), verbose if distributed.is_root else 0


def share_parameters(distributed, network, first_rows):
    """Give every rank rank 0's parameters, drawing them first where layers are still unbuilt.

    The draw is one inference-mode forward pass of ``first_rows`` (one row
    is enough): it draws the weights the first batch would have drawn, and
    in inference mode no layer updates any statistics.
    """
    if not all(layer.initialized for layer in network.layers):
        set_training(network.layers, False)
        network.forward(first_rows)
    distributed.broadcast_parameters(network.layers)


class RankMetrics(RunningMetrics):
    """Running sums of this rank's rows, whose ``result`` is that of all the ranks' rows together (one allreduce)."""

    def __init__(self, distributed, backend, dtype, classification):
        super().__init__(backend, dtype, classification)
        self.distributed = distributed

    def result(self):
        xp = self.backend.xp
        loss_sum, correct_sum = self.backend.to_numpy(
            xp.stack([self.total_loss, xp.asarray(self.correct, dtype=self.dtype)]))
        loss_sum, correct_sum, samples = self.distributed.sum([loss_sum, correct_sum, self.samples])
        metrics = {"loss": float(loss_sum) / samples}
        if self.classification:
            metrics["accuracy"] = float(correct_sum) / samples
        return metrics


class DistributedLoop(TrainingLoop):
    """:class:`~batchnet.training.loop.TrainingLoop` on one rank of ``distributed``'s communicator."""

    # a rank that stopped alone would leave the others waiting in the next allreduce
    interrupt_ends_training = False

    def __init__(self, distributed, *arguments, **options):
        super().__init__(*arguments, **options)
        self.distributed = distributed
        self._rows = self._global_rows = 0

    def run(self, *arguments, **options):
        try:
            return super().run(*arguments, **options)
        finally:
            for layer in self._per_row_draws():
                layer.rows_of_batch = None  # a later fit in one process draws for its own batches

    def _per_row_draws(self):
        """The layers that draw random numbers per row (dropout): they draw the whole global batch's."""
        return [layer for layer in self.network.layers if hasattr(layer, "rows_of_batch")]

    def _local_batch(self, indices):
        total = indices.stop - indices.start if isinstance(indices, slice) else len(indices)
        start, stop = self.distributed.bounds(total)
        if isinstance(indices, slice):  # unshuffled: the global batch is rows start..stop
            local = slice(indices.start + start, indices.start + stop)
        else:
            local = indices[start:stop]
        self._rows, self._global_rows = stop - start, total
        for layer in self._per_row_draws():
            layer.rows_of_batch = (start, stop, total)
        return local

    def step(self, runner, x_batch, y_batch, metrics):
        if not len(x_batch):  # no rows of this batch here: the others still draw its masks
            for layer in self._per_row_draws():
                layer.draw_for_rows_elsewhere()
        super().step(runner, x_batch, y_batch, metrics)

    def _reduce_gradients(self, layers):
        # each rank's gradients are means over its rows: weighted by rows / global rows, summed
        self.distributed.average_gradients(layers, self._rows, self._global_rows)

    def _new_metrics(self, classification):
        return RankMetrics(self.distributed, self.network.backend, self.network.dtype, classification)

    def _evaluate(self, runner, x, y, classification, batch_size):
        shard = self.distributed.shard
        return evaluate(self.network, runner, shard(x), shard(y), classification, batch_size,
                        self._new_metrics(classification))


def predict_on_ranks(network, comm, inputs, batch_size, threads):
    """``network.predict`` with each rank running its contiguous part of the rows; all the outputs, in order, on every rank."""
    with on_ranks(comm) as distributed:
        # checked whole on every rank, so that every rank refuses the same inputs
        inputs = check_inputs(inputs, network.sample_shape, "predict")
        batch_size = count(batch_size, "batch_size", "predict")
        local = distributed.shard(inputs)
        outputs = network.predict(local, batch_size, threads) if len(local) else None
        return distributed.gather(outputs)


def evaluate_on_ranks(network, comm, x, y, batch_size, threads):
    """``network.evaluate`` with each rank evaluating its part of the rows; the figures of all of them on every rank."""
    with on_ranks(comm) as distributed:
        if network.loss is None:
            raise RuntimeError("NeuralNetwork.evaluate: call use(loss, loss_prime) first")
        x, y = check_data(x, y, network.loss, network.sample_shape, "evaluate")
        batch_size = count(batch_size, "batch_size", "evaluate")
        names = ["loss", "accuracy"] if is_one_hot(y) else ["loss"]
        local_x, local_y = distributed.shard(x), distributed.shard(y)
        rows = len(local_x)
        # a rank's figures are means over its rows: times its rows, they add up over the ranks
        figures = network.evaluate(local_x, local_y, batch_size, threads) if rows else {}
        *sums, total_rows = distributed.sum([figures.get(name, 0.0) * rows for name in names] + [rows])
        return {name: float(value) / total_rows for name, value in zip(names, sums)}
