"""NeuralNetwork: the tutorial's ``add / use / fit / predict``, on mini-batches.

A network owns one backend (where arrays live), one dtype (float32 unless
asked otherwise) and one seeded generator per ``fit``, which draws the initial
weights on the host and the order of the batches: the same seed gives the same
weights, the same batches and the same result on the CPU.
"""

import contextlib
import math
import numbers

import numpy as np

from backends import backend_for, get_backend, is_device_array
from batchnet.arguments import is_count
from batchnet.training.history import History
from batchnet.layers.base import Layer
from batchnet.optimizers import get_optimizer
from batchnet.training.parallel import BatchRunner, limit_threads
from batchnet.random import new_generator


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite."""


class NeuralNetwork:
    """A stack of layers trained by backpropagation.

    ``NeuralNetwork(backend="numpy" | "cupy" | "auto", dtype="float32")``; the
    backend defaults to ``$BATCHNET_BACKEND`` or NumPy. Inputs are converted to
    the network's dtype once, at the start of ``fit``/``predict``.
    """

    def __init__(self, backend=None, dtype="float32"):
        self.layers = []
        self.loss = None
        self.loss_prime = None
        self.backend = get_backend(backend)
        try:
            if dtype is None:  # np.dtype(None) would be float64, silently
                raise TypeError
            self.dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"NeuralNetwork: dtype must be float32 or float64, got {dtype!r}") from None
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"NeuralNetwork: dtype must be float32 or float64, got {self.dtype}")
        self.history = History()
        self.optimizer = None
        self._output_sizes = ((), {})  # (ids of the layers, BatchRunner.elements_per_sample)

    @property
    def sample_shape(self):
        """The shape of one input sample (no batch axis) the network last ran on, or None before any.

        A loaded model has it from its file, which records it.
        """
        first = self.layers[0] if self.layers else None
        return None if first is None or first.sample_shape is None else tuple(map(int, first.sample_shape))

    # -- building ---------------------------------------------------------
    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"NeuralNetwork.add: expected a Layer, got {type(layer).__name__}")
        self.layers.append(layer)
        return self

    def use(self, loss, loss_prime):
        if not callable(loss) or not callable(loss_prime):
            raise TypeError("NeuralNetwork.use: expected two functions (loss, loss_prime)")
        self.loss = loss
        self.loss_prime = loss_prime
        return self

    # -- running ----------------------------------------------------------
    def to(self, backend):
        """Move the network to ``backend`` (``"numpy"``, ``"cupy"``, ``"auto"`` or a Backend); returns it.

        Trained parameters are copied there once, and so is the state of the
        last ``fit``'s optimizer (momentum, Adam's moments): passing that
        optimizer to the next ``fit`` goes on where training stopped. Layers
        not built yet draw their weights there, as on a network made there.
        """
        backend = get_backend(backend)
        if backend is not self.backend:
            for layer in self.layers:
                if layer.built:
                    layer.to(backend)
            if self.optimizer is not None:
                self.optimizer.move_state(self.backend, backend)
            self.backend = backend
        return self

    def forward(self, batch):
        return forward_layers(self.layers, batch)

    def backward(self, error, need_input_error=True):
        """Backpropagate ``error`` (dE/d output): every layer stores its gradients.

        Returns dE/d input, or with ``need_input_error=False`` (as ``fit``
        does) ``None``: the pass then stops at the first layer with
        parameters, which computes only its gradients.
        """
        if need_input_error:
            for layer in reversed(self.layers):
                error = layer.backward(error)
            return error
        backward_parameters(self.layers, error)
        return None

    def fit(self, x_train, y_train, epochs, learning_rate=None, batch_size=32, shuffle=True, seed=None,
            verbose=1, validation_data=None, validation_split=0.0, optimizer=None, threads=None, comm=None):
        """Train with mini-batch gradient descent and return ``self`` (for chaining).

        Each step averages the loss gradient over ``batch_size`` samples; with
        ``optimizer=None`` the update is the tutorial's ``w -= learning_rate * dE/dw``,
        else ``"sgd"``, ``"adam"`` or an :class:`~batchnet.optimizers.Optimizer`
        (which brings its own learning rate: then leave ``learning_rate`` out).
        ``validation_split`` holds out that fraction after a seeded shuffle;
        ``validation_data=(x, y)`` gives the held-out set instead (not both).
        The same ``seed`` draws the same initial weights whatever the data,
        ``shuffle`` and ``validation_split``.
        ``verbose``: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        Per-epoch figures go to ``self.history``. Ctrl-C stops training and
        keeps the model as it is and the history of the finished epochs.

        ``threads``: CPU threads to use (``None``: as many as BLAS is set to,
        which is every core unless ``OPENBLAS_NUM_THREADS`` or threadpoolctl
        says less). On the NumPy backend a batch large enough to pay is cut
        into one shard per thread, run at once (see :mod:`batchnet.training.parallel`);
        otherwise the threads go to BLAS. Results with shards differ from
        those without only by float rounding.

        ``comm``: an mpi4py communicator (MPI issue 13, see :mod:`batchnet.distributed`):
        every rank calls ``fit`` with the same data and takes its shard of each
        global batch of ``batch_size``; the update is that of one process up to
        float rounding, every rank gets the same weights and history, rank 0
        alone shows progress, and a rank that fails aborts the whole job.
        """
        arguments = (x_train, y_train, epochs, learning_rate, batch_size, shuffle, seed, verbose,
                     validation_data, validation_split, optimizer, threads)
        if comm is None:
            return self._fit(*arguments, None)
        distributed = _distributed(comm)
        with distributed.aborting_on_error():
            return self._fit(*arguments, distributed)

    def _fit(self, x_train, y_train, epochs, learning_rate, batch_size, shuffle, seed, verbose,
             validation_data, validation_split, optimizer, threads, distributed):
        if self.loss is None:
            raise RuntimeError("NeuralNetwork.fit: call use(loss, loss_prime) first")
        epochs = _count(epochs, "epochs", "fit", minimum=0)
        if not (isinstance(verbose, numbers.Integral) and verbose in (0, 1, 2)):
            raise ValueError(f"NeuralNetwork.fit: verbose must be 0, 1 or 2, got {verbose!r}")
        batch_size = _count(batch_size, "batch_size", "fit")
        if (isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real)
                or not 0 <= validation_split < 1):
            raise ValueError(f"NeuralNetwork.fit: validation_split must be in [0, 1), got {validation_split!r}")
        if validation_split and validation_data is not None:
            raise ValueError("NeuralNetwork.fit: give validation_data or validation_split, not both")
        optimizer = get_optimizer(optimizer, learning_rate)
        if distributed is not None:  # MPI: one seed, so one batch order, on every rank
            seed = distributed.common_seed(seed)
            verbose = verbose if distributed.is_root else 0
        # two generators from the seed, so that the initial weights do not depend on how
        # many numbers the data's shuffles and split drew
        weights_rng, order_rng = new_generator(seed).spawn(2)
        x_train, y_train = self._check_data(x_train, y_train, "fit")
        if validation_split:
            order = order_rng.permutation(len(x_train))
            held_out = max(1, int(round(len(x_train) * validation_split)))
            if held_out >= len(x_train):
                raise ValueError("NeuralNetwork.fit: validation_split leaves no training samples")
            validation_data = (x_train[order[-held_out:]], y_train[order[-held_out:]])
            x_train, y_train = x_train[order[:-held_out]], y_train[order[:-held_out]]
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("NeuralNetwork.fit: validation_data must be a pair (x, y)")
            x_held, y_held = self._check_data(*validation_data, "fit validation_data")
            # found now, not after a whole epoch of training
            for name, held, train in (("x", x_held, x_train), ("y", y_held, y_train)):
                if held.shape[1:] != train.shape[1:]:
                    raise ValueError(
                        f"NeuralNetwork.fit: validation_data's {name} has samples of shape {held.shape[1:]}, "
                        f"the training {name} {train.shape[1:]}"
                    )
            # uploaded once: evaluating each epoch then moves nothing to the device
            validation_data = (*self._to_device(x_held, y_held), _is_one_hot(y_held))
        self._bind(weights_rng)
        self.optimizer = optimizer
        self.history.stopped_early = None
        classification = _is_one_hot(y_train)
        xp = self.backend.xp
        x_device, y_device = self._to_device(x_train, y_train)
        samples = len(x_device)
        steps = math.ceil(samples / batch_size)
        if distributed is not None:  # MPI: rank 0's weights everywhere (drawn first where still unbuilt)
            if not all(layer.initialized for layer in self.layers):
                forward_layers(self.layers, x_device[:1])
            distributed.broadcast_parameters(self.layers)
        first_epoch = len(self.history.epoch)
        with self._running(threads, "fit") as runner:
            for epoch in range(first_epoch + 1, first_epoch + epochs + 1):
                order = order_rng.permutation(samples) if shuffle else None
                if order is None and distributed is not None:  # MPI: shards are taken from index arrays
                    order = np.arange(samples)
                if order is not None:
                    order = self.backend.asarray(order)
                progress = _progress(verbose, steps, epoch, first_epoch + epochs)
                total_loss = xp.zeros((), dtype=self.dtype)
                correct = xp.zeros((), dtype=xp.int64)
                seen = 0
                try:
                    for step in range(steps):
                        rows = slice(step * batch_size, (step + 1) * batch_size)
                        indices = order[rows] if order is not None else rows
                        if distributed is not None:  # MPI: this rank's rows of the global batch
                            global_rows = len(indices)
                            indices = distributed.shard(indices)
                        x_batch, y_batch = x_device[indices], y_device[indices]
                        if len(x_batch):  # an MPI rank can have no rows of a last, small batch
                            output = runner.forward(x_batch)
                            total_loss += self.loss(y_batch, output) * len(x_batch)
                            if classification:
                                correct += _count_correct(y_batch, output)
                            runner.backward(self.loss_prime(y_batch, output))
                        if distributed is not None:
                            distributed.average_gradients(self.layers, len(x_batch), global_rows)
                        self.optimizer.step(self.layers)
                        seen += len(x_batch)
                        if progress is not None:
                            progress.update(step + 1, lambda: float(total_loss) / seen)
                except KeyboardInterrupt:
                    if distributed is not None:  # MPI: the other ranks would wait for this one forever
                        raise
                    self.history.stopped_early = f"interrupted during epoch {epoch}"
                    if progress is not None:
                        progress.close(f"interrupted during epoch {epoch}")
                    break
                metrics = self._metrics(total_loss, correct, seen, classification, distributed)
                if not math.isfinite(metrics["loss"]):
                    self.history.stopped_early = f"loss became {metrics['loss']} in epoch {epoch}"
                    if progress is not None:
                        progress.close(self.history.stopped_early)
                    raise TrainingDiverged(
                        f"NeuralNetwork.fit: the loss became {metrics['loss']} in epoch {epoch}; "
                        "try a lower learning rate (the weights are kept as they were then)"
                    )
                if validation_data is not None:
                    validation = self._evaluate_on_device(runner, *validation_data, max(batch_size, 256),
                                                          distributed)
                    metrics.update({f"val_{name}": value for name, value in validation.items()})
                self.history.record(epoch, metrics)
                if progress is not None:
                    progress.close(_format_metrics(metrics))
        return self

    def predict(self, input_data, batch_size=256, threads=None, comm=None):
        """Outputs for every sample, run in batches, as one NumPy array ``(N, ...)``.

        ``threads`` as in :meth:`fit`; with ``comm`` (MPI) each rank runs its
        part of the rows and every rank returns all the outputs, in order.
        """
        distributed = None if comm is None else _distributed(comm)
        with contextlib.nullcontext() if distributed is None else distributed.aborting_on_error():
            input_data = self._check_inputs(input_data, "predict")
            batch_size = _count(batch_size, "batch_size", "predict")
            self._bind(new_generator())
            if distributed is not None:
                input_data = distributed.shard(input_data)
            outputs = []
            with self._running(threads, "predict") as runner:
                for start in range(0, len(input_data), batch_size):
                    batch = self.backend.asarray(input_data[start:start + batch_size], dtype=self.dtype)
                    # a copy: the last layer's output buffer takes the next batch
                    outputs.append(runner.forward(batch).copy())
            result = self.backend.to_numpy(self.backend.xp.concatenate(outputs)) if outputs else None
            return result if distributed is None else distributed.gather(result)

    def evaluate(self, x, y, batch_size=256, threads=None, comm=None):
        """``{"loss": ..., "accuracy": ...}`` over ``(x, y)`` (accuracy for one-hot targets).

        With ``comm`` (MPI) each rank evaluates its part of the rows; every rank returns the whole's figures.
        """
        distributed = None if comm is None else _distributed(comm)
        with contextlib.nullcontext() if distributed is None else distributed.aborting_on_error():
            if self.loss is None:
                raise RuntimeError("NeuralNetwork.evaluate: call use(loss, loss_prime) first")
            x, y = self._check_data(x, y, "evaluate")
            batch_size = _count(batch_size, "batch_size", "evaluate")
            self._bind(new_generator())
            with self._running(threads, "evaluate") as runner:
                return self._evaluate_on_device(runner, *self._to_device(x, y), _is_one_hot(y), batch_size,
                                                distributed)

    @contextlib.contextmanager
    def _running(self, threads, where):
        """A :class:`~batchnet.training.parallel.BatchRunner` on ``threads`` threads, with buffers reused.

        ``threads=None`` takes as many as BLAS is set to use. On the NumPy
        backend a large enough batch is cut into one shard per thread; else
        the threads go to BLAS.
        """
        if threads is not None:
            threads = _count(threads, "threads", where)
        with contextlib.ExitStack() as stack:
            if threads is not None:
                stack.enter_context(limit_threads(threads))
            if self.backend.on_device:
                threads = 1  # the device runs the batch in parallel already
            stack.enter_context(self._reusing_buffers())
            # the layers' output sizes per sample, kept while the layers stay the
            # same; a stale figure could only change how batches are cut, never a result
            layers = tuple(id(layer) for layer in self.layers)
            if self._output_sizes[0] != layers:
                self._output_sizes = (layers, {})
            yield stack.enter_context(BatchRunner(
                self.layers, threads, forward_layers, backward_parameters,
                elements_per_sample=self._output_sizes[1],
            ))

    def _evaluate_on_device(self, runner, x, y, classification, batch_size, distributed=None):
        xp = self.backend.xp
        if distributed is not None:  # MPI: this rank's rows; the sums are added up in _metrics
            x, y = distributed.shard(x), distributed.shard(y)
        total_loss = xp.zeros((), dtype=self.dtype)
        correct = xp.zeros((), dtype=xp.int64)
        for start in range(0, len(x), batch_size):
            x_batch, y_batch = x[start:start + batch_size], y[start:start + batch_size]
            output = runner.forward(x_batch)
            total_loss += self.loss(y_batch, output) * len(x_batch)
            if classification:
                correct += _count_correct(y_batch, output)
        return self._metrics(total_loss, correct, len(x), classification, distributed)

    @contextlib.contextmanager
    def _reusing_buffers(self):
        """Let the layers write their results into buffers kept from batch to batch.

        Safe here: each batch's outputs and errors are read before the next
        batch overwrites them (see :class:`~batchnet.layers.base.Layer`).
        """
        for layer in self.layers:
            layer.reuse_buffers = True
        try:
            yield
        finally:
            for layer in self.layers:
                layer.reuse_buffers = False

    def _metrics(self, total_loss, correct, samples, classification, distributed=None):
        """Per-sample loss (and accuracy, for one-hot targets) from device sums, with a single transfer.

        With ``distributed`` (MPI) the sums and ``samples`` are this rank's, added up over the ranks.
        """
        xp = self.backend.xp
        loss_sum, correct_sum = self.backend.to_numpy(xp.stack([total_loss, xp.asarray(correct, dtype=self.dtype)]))
        if distributed is not None:
            loss_sum, correct_sum, samples = distributed.sum([loss_sum, correct_sum, samples])
        metrics = {"loss": float(loss_sum) / samples}
        if classification:
            metrics["accuracy"] = float(correct_sum) / samples
        return metrics

    def _to_device(self, x, y):
        return self.backend.asarray(x, dtype=self.dtype), self.backend.asarray(y, dtype=self.dtype)

    # -- checks -----------------------------------------------------------
    def _bind(self, rng):
        if not self.layers:
            raise RuntimeError("NeuralNetwork: add layers first")
        for layer in self.layers:
            if not layer.built:
                layer.bind(self.backend, rng)
            elif layer.backend is not self.backend:
                raise ValueError(
                    f"NeuralNetwork: {layer.name} lives on the {layer.backend.name} backend, "
                    f"the network on {self.backend.name}"
                )

    def _check_inputs(self, x, where):
        """``x`` as a checked host array; a batch of 2-D images gains a channel axis."""
        x = _to_host(x)
        if x.dtype.kind != "f":
            raise TypeError(
                f"NeuralNetwork.{where}: expected float inputs, got dtype {x.dtype} "
                "(scale integer images first, e.g. x / 255)"
            )
        sample = self.sample_shape
        if sample is not None and 1 <= x.ndim <= len(sample) and x.shape in (sample, sample[:-1]):
            raise ValueError(
                f"NeuralNetwork.{where}: got one sample of shape {x.shape}, expected a batch "
                f"(N, {', '.join(map(str, sample))}); for one sample pass x[None]"
            )
        if x.ndim < 2 or len(x) == 0:
            raise ValueError(
                f"NeuralNetwork.{where}: expected a non-empty batch (N, ...), got shape {x.shape}"
            )
        if x.ndim == 3:
            x = x[..., None]
        if not np.isfinite(x).all():
            raise ValueError(f"NeuralNetwork.{where}: inputs contain NaN or inf")
        return x

    def _check_data(self, x, y, where):
        x = self._check_inputs(x, where)
        y = _to_host(y)
        if len(y) != len(x):
            raise ValueError(f"NeuralNetwork.{where}: x has {len(x)} samples but y has {len(y)}")
        if y.dtype.kind not in "fiub":
            raise TypeError(f"NeuralNetwork.{where}: expected numeric targets, got dtype {y.dtype}")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError(f"NeuralNetwork.{where}: targets contain NaN or inf")
        if getattr(self.loss, "needs_one_hot", False) and not _is_one_hot(y):
            raise ValueError(
                f"NeuralNetwork.{where}: {self.loss.__name__} needs one-hot targets (N, classes), "
                f"got shape {y.shape}; encode labels with batchnet.one_hot"
            )
        return x, y

    def __repr__(self):
        lines = [f"NeuralNetwork(backend={self.backend.name}, dtype={self.dtype})"]
        lines += [f"  ({index}) {layer!r}" for index, layer in enumerate(self.layers)]
        if self.loss is not None:
            lines.append(f"  loss: {self.loss.__name__}")
        return "\n".join(lines)


def _to_host(array):
    if is_device_array(array):
        return backend_for(array).to_numpy(array)
    return np.asarray(array)


def _is_one_hot(y):
    if y.ndim != 2 or y.shape[1] < 2:
        return False
    return bool(((y == 0) | (y == 1)).all() and (y.sum(axis=1) == 1).all())


def _count_correct(y_batch, output):
    """How many rows of ``output`` have their largest value where the one-hot ``y_batch`` has its 1."""
    return (output.argmax(axis=1) == y_batch.argmax(axis=1)).sum()


def _format_metrics(metrics):
    return "  ".join(f"{name}={value:.4f}" for name, value in metrics.items())


def _progress(verbose, steps, epoch, epochs):
    if not verbose:
        return None
    from batchnet.training.progress import EpochProgress

    return EpochProgress(steps, epoch, epochs, bar=verbose == 1)


def forward_layers(layers, batch):
    """``batch`` through ``layers`` in turn: the output of the last."""
    for layer in layers:
        batch = layer.forward_propagation(batch)
    return batch


def backward_parameters(layers, error):
    """Backpropagate ``error`` only as far as the parameter gradients need: the first
    layer with parameters computes its gradients but no error for its input."""
    trained = [index for index, layer in enumerate(layers) if layer.parameter_names]
    if not trained:
        return
    first = trained[0]
    for layer in reversed(layers[first + 1:]):
        error = layer.backward(error)
    layers[first].backward(error, need_input_error=False)


def _distributed(comm):
    """MPI (issue 13): the communicator behind batchnet.distributed's interface, imported only when asked for."""
    from batchnet.distributed import Distributed

    return Distributed(comm)


def _count(value, name, where, minimum=1):
    """``value`` as an int (NumPy's integers too, never a bool), at least ``minimum``."""
    if not is_count(value, minimum):
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"NeuralNetwork.{where}: {name} must be {kind} int, got {value!r}")
    return int(value)
