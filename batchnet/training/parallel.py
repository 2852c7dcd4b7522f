"""Data parallelism on the CPU: a batch cut into shards that threads run at once.

BLAS threads only the matrix products; im2col, col2im, pooling and the
activations then run on one core while the others wait. Cutting the batch
into one shard per thread and running each shard's whole forward (or
backward) pass in a thread of its own, with BLAS on one thread, keeps every
core busy through every op: on the standard CNN (``batchnet.models.standard_cnn``,
2 cores) this trained about 20% faster than BLAS threads alone, at batch 32
and at batch 128.

Each extra shard runs through *replicas* of the layers (``Layer.replica``),
which share the parameters and keep their own per-batch state. The loss and
its gradient are computed on the whole batch's output, so the gradient is
the same as without shards for any loss; the shards' parameter gradients are
summed back onto the network's own layers, where the optimizer finds them.
The NumPy kernels release the GIL, so the threads do run at once.

Sharding costs each shard the Python overhead of every layer call (the
threads take turns holding the GIL for it), which outweighs the gain when a
shard's work is small. A batch is therefore cut only into shards holding at
least ``MIN_SHARD_ELEMENTS`` layer-output elements each (summed over the
layers).

A layer whose result would change if it saw shards instead of the batch
says ``shardable = False`` (batch normalization: a shard's statistics are
not the batch's; dropout: replicas would draw masks from one generator in
whatever order the threads run). A network holding one runs its batches
whole: :class:`BatchRunner` never shards them.
"""

import os
from concurrent.futures import ThreadPoolExecutor, wait

from threadpoolctl import ThreadpoolController

# measured on 2 cores, training (median samples/s, sharded vs BLAS threads):
# the standard CNN (88,000 elements a sample) at batch 32 (1.4 M a shard)
# +23%; the tutorial's CNN (2,770 a sample) at batch 128 (0.18 M) -13%, at 256 (0.35 M)
# -22%, at 512 (0.7 M) +30% but predicting -10%, at 1024 (1.4 M) +26%; the
# MLP (320 a sample) at batch 512 (82,000) -30%
MIN_SHARD_ELEMENTS = 1 << 20


_controller = None


def _thread_pools():
    """The process's thread pools (BLAS, OpenMP), found once: the search takes ~0.3 ms."""
    global _controller
    if _controller is None or not _controller.lib_controllers:
        _controller = ThreadpoolController()
    return _controller


def default_threads():
    """The threads BLAS is set to use (``OPENBLAS_NUM_THREADS``, threadpoolctl limits, else the cores)."""
    counts = [pool.num_threads for pool in _thread_pools().select(user_api="blas").lib_controllers]
    return max(counts, default=1)


def available_cores():
    """The cores this process may run on (its CPU affinity where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def limit_threads(threads, user_api=None):
    """Limit the thread pools (all, or those of ``user_api``) to ``threads``; a context manager."""
    return _thread_pools().limit(limits=threads, user_api=user_api)


def shard_count(threads, batch_size, elements_per_sample):
    """How many shards to cut a batch into: at most ``threads``, each large enough to pay."""
    shards = max(1, min(threads, batch_size))
    while shards > 1 and (batch_size // shards) * elements_per_sample < MIN_SHARD_ELEMENTS:
        shards -= 1
    return shards


def shard_bounds(batch_size, shards):
    """``[(start, stop), ...]``: ``shards`` contiguous slices, sizes differing by at most one."""
    size, extra = divmod(batch_size, shards)
    bounds, start = [], 0
    for index in range(shards):
        stop = start + size + (index < extra)
        bounds.append((start, stop))
        start = stop
    return bounds


class ShardedLayers:
    """The network's layers and ``shards - 1`` replicas of them, with a thread for each replica.

    ``run(function, pieces)`` calls ``function(layers, piece)`` for the k-th
    piece on the k-th copy of the layers, the first on the calling thread,
    and returns the results in order. Use as a context manager: leaving it
    stops the threads.
    """

    def __init__(self, layers, shards):
        if shards < 2:
            raise ValueError(f"ShardedLayers: expected at least 2 shards, got {shards}")
        self.copies = [list(layers)] + [[layer.replica() for layer in layers] for _ in range(shards - 1)]
        self._pool = ThreadPoolExecutor(shards - 1, thread_name_prefix="batchnet-shard")

    @property
    def shards(self):
        return len(self.copies)

    def run(self, function, pieces):
        if len(pieces) > self.shards:
            raise ValueError(f"ShardedLayers.run: {len(pieces)} pieces for {self.shards} shards")
        futures = [self._pool.submit(function, layers, piece)
                   for layers, piece in zip(self.copies[1:], pieces[1:])]
        try:
            first = function(self.copies[0], pieces[0])
        finally:
            # even when this thread's shard failed (or Ctrl-C came), wait for
            # the others: none may still run when the caller moves on
            wait(futures)
        return [first] + [future.result() for future in futures]  # re-raises a shard's error

    def gather_gradients(self, shards):
        """Sum the first ``shards`` copies' gradients into the network's own layers."""
        for index, layer in enumerate(self.copies[0]):
            if not layer.gradients:
                continue
            replicas = [copy[index] for copy in self.copies[1:shards]]
            layer.gradients = {
                name: sum((replica.gradients[name] for replica in replicas), gradient)
                for name, gradient in layer.gradients.items()
            }

    def close(self):
        self._pool.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class BatchRunner:
    """Runs batches forward and backward through ``layers``, in shards when that pays.

    ``forward_layers(layers, batch)`` and ``backward_layers(layers, error)``
    are the network's passes. How many layer-output elements a sample of
    each shape makes is kept in ``elements_per_sample`` (a dict the caller
    may keep from run to run); a batch of a shape not in it goes through
    unsharded, which builds the parameters and measures the outputs, and
    :func:`shard_count` decides the later ones. ``backward`` cuts the error
    as the last ``forward`` cut its batch. While shards are in use BLAS runs
    on one thread. Layers that say ``shardable = False`` keep every batch
    whole. Use as a context manager.
    """

    def __init__(self, layers, threads, forward_layers, backward_layers, elements_per_sample=None):
        self.layers = layers
        # one layer needing the whole batch (see the module docstring) keeps every batch whole
        self.shardable = all(getattr(layer, "shardable", True) for layer in layers)
        self.threads = threads  # None: default_threads(), asked only when a batch is large enough
        self._forward_layers = forward_layers
        self._backward_layers = backward_layers
        self.elements_per_sample = {} if elements_per_sample is None else elements_per_sample
        self._sharded = None
        self._blas_limit = None
        self._bounds = None

    def forward(self, batch):
        shards = 1
        sample_shape = tuple(batch.shape[1:])
        elements = self.elements_per_sample.get(sample_shape)
        if elements is not None and self._could_shard(len(batch), elements):
            if self.threads is None:
                self.threads = default_threads()
            shards = shard_count(self.threads, len(batch), elements)
        if shards == 1:
            self._bounds = None
            output = self._forward_layers(self.layers, batch)
            if elements is None:
                outputs = sum(layer.output.size for layer in self.layers)
                self.elements_per_sample[sample_shape] = outputs / len(batch)
            return output
        if self._sharded is None:
            self._blas_limit = limit_threads(1, user_api="blas")
            self._sharded = ShardedLayers(self.layers, self.threads)
        self._bounds = shard_bounds(len(batch), shards)
        outputs = self._sharded.run(self._forward_layers, [batch[start:stop] for start, stop in self._bounds])
        xp = self.layers[0].xp
        return xp.concatenate(outputs)

    def _could_shard(self, batch_size, elements_per_sample):
        return self.shardable and self.threads != 1 and batch_size * elements_per_sample >= 2 * MIN_SHARD_ELEMENTS

    def backward(self, error):
        """Store every layer's parameter gradients for ``error`` (dE/d output of the last forward)."""
        if self._bounds is None:
            self._backward_layers(self.layers, error)
            return
        self._sharded.run(self._backward_layers, [error[start:stop] for start, stop in self._bounds])
        self._sharded.gather_gradients(len(self._bounds))

    @property
    def shards(self):
        """How many shards the last forward pass used."""
        return 1 if self._bounds is None else len(self._bounds)

    def close(self):
        if self._sharded is not None:
            self._sharded.close()
            self._sharded = None
        if self._blas_limit is not None:
            self._blas_limit.restore_original_limits()
            self._blas_limit = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
