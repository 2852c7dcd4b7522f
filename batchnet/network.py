"""NeuralNetwork: the tutorial's ``add / use / fit / predict``, on mini-batches.

A network owns one backend (where arrays live), one dtype (float32 unless
asked otherwise) and one seeded generator per ``fit``, which draws the initial
weights on the host and the order of the batches: the same seed gives the same
weights, the same batches and the same result on the CPU.
"""

import numpy as np

from backends import get_backend
from batchnet.arguments import (
    check_data,
    check_fit_settings,
    check_inputs,
    check_validation_data,
    count,
    is_one_hot,
    split_validation,
)
from batchnet.distributed import training as mpi  # data-parallel fit/evaluate/predict (comm=)
from batchnet.layers.base import Layer
from batchnet.optimizers import get_optimizer
from batchnet.random import new_generator
from batchnet.summary import summary_table
from batchnet.training.callbacks import CallbackList
from batchnet.training.history import History
from batchnet.training.loop import TrainingLoop, evaluate, set_training
from batchnet.training.metrics import format_metrics
from batchnet.training.progress import check_verbose, report_evaluation
from batchnet.training.runners import backward_parameters, forward_layers, running, warn_not_finite


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
        # a callback sets it to end training after the epoch under way (see fit)
        self.stop_training = False
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
            verbose=1, validation_data=None, validation_split=0.0, optimizer=None, threads=None, callbacks=None,
            comm=None):
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

        ``callbacks``: :class:`~batchnet.training.callbacks.Callback` instances,
        called at the start and end of training and of each epoch; one may
        stop training (``network.stop_training = True``) or set the
        optimizer's learning rate for the epoch.

        ``comm``: an mpi4py communicator, for data-parallel training: every
        rank calls ``fit`` alike and trains on its shard of each global batch of
        ``batch_size``; all end with one process's weights and history (up to
        float rounding), rank 0 alone shows progress, and a rank that fails
        ends the whole job (see :mod:`batchnet.distributed.training`).
        """
        arguments = (x_train, y_train, epochs, learning_rate, batch_size, shuffle, seed, verbose,
                     validation_data, validation_split, optimizer, threads, callbacks)
        if comm is None:
            return self._fit(*arguments)
        with mpi.on_ranks(comm) as distributed:
            return self._fit(*arguments, distributed)

    def _fit(self, x_train, y_train, epochs, learning_rate, batch_size, shuffle, seed, verbose,
             validation_data, validation_split, optimizer, threads, callbacks, distributed=None):
        if self.loss is None:
            raise RuntimeError("NeuralNetwork.fit: call use(loss, loss_prime) first")
        epochs, batch_size = check_fit_settings(epochs, verbose, batch_size, validation_split, validation_data)
        optimizer = get_optimizer(optimizer, learning_rate)
        callbacks = CallbackList(callbacks, self)
        if distributed is not None:  # MPI: one seed, so one batch order, on every rank
            seed, verbose = mpi.agree(distributed, seed, verbose)
        # two generators from the seed, so that the initial weights do not depend on how
        # many numbers the data's shuffles and split drew
        weights_rng, order_rng = new_generator(seed).spawn(2)
        x_train, y_train = self._check_data(x_train, y_train, "fit")
        if validation_split:
            (x_train, y_train), validation_data = split_validation(x_train, y_train, validation_split, order_rng)
        if validation_data is not None:
            x_held, y_held = check_validation_data(validation_data, x_train, y_train, self.loss, self.sample_shape)
            # uploaded once: evaluating each epoch then moves nothing to the device
            validation_data = (*self._to_device(x_held, y_held), is_one_hot(y_held))
        self._bind(weights_rng)
        self.optimizer = optimizer
        self.history.stopped_early = None
        classification = is_one_hot(y_train)
        x_device, y_device = self._to_device(x_train, y_train)
        if distributed is not None:  # MPI: rank 0's weights on every rank
            mpi.share_parameters(distributed, self, x_device[:1])
        with self._running(threads, "fit") as runner_for:
            settings = (self, runner_for, batch_size, shuffle, order_rng, verbose, callbacks)
            loop = TrainingLoop(*settings) if distributed is None else mpi.DistributedLoop(distributed, *settings)
            loop.run(x_device, y_device, epochs, classification, validation_data)
        return self

    def predict(self, input_data, batch_size=256, threads=None, comm=None):
        """Outputs for every sample, run in batches, as one NumPy array ``(N, ...)``.

        ``threads`` as in :meth:`fit`; with ``comm`` (MPI) each rank runs its
        part of the rows and every rank returns all the outputs, in order.
        Finite inputs whose outputs overflow (NaN or inf) give a RuntimeWarning
        naming the first layer whose output is not finite (fit raises
        TrainingDiverged on the same inputs).
        """
        if comm is not None:
            return mpi.predict_on_ranks(self, comm, input_data, batch_size, threads)
        input_data = self._check_inputs(input_data, "predict")
        batch_size = count(batch_size, "batch_size", "predict")
        self._bind(new_generator())
        set_training(self.layers, False)
        outputs = []
        with self._running(threads, "predict") as runner_for:
            runner = runner_for(False)
            for start in range(0, len(input_data), batch_size):
                batch = self.backend.asarray(input_data[start:start + batch_size], dtype=self.dtype)
                # a copy: the last layer's output buffer takes the next batch
                outputs.append(runner.forward(batch).copy())
        outputs = self.backend.to_numpy(self.backend.xp.concatenate(outputs))
        if not np.isfinite(outputs).all():  # the final outputs alone: the layers are searched only then
            warn_not_finite(self, input_data, outputs, "predict")
        return outputs

    def evaluate(self, x, y, batch_size=256, threads=None, verbose=0, comm=None):
        """``{"loss": ..., "accuracy": ...}`` over ``(x, y)`` (accuracy for one-hot targets).

        ``verbose`` as Keras takes it: 0 (the default) silent, 1 or 2 print the figures on one line.
        With ``comm`` (MPI) each rank evaluates its part of the rows; every rank returns the figures of all.
        """
        if comm is not None:
            verbose = check_verbose(verbose, "evaluate")
            figures = mpi.evaluate_on_ranks(self, comm, x, y, batch_size, threads)
            if verbose and comm.rank == 0:
                report_evaluation(format_metrics(figures))
            return figures
        if self.loss is None:
            raise RuntimeError("NeuralNetwork.evaluate: call use(loss, loss_prime) first")
        verbose = check_verbose(verbose, "evaluate")
        x, y = self._check_data(x, y, "evaluate")
        batch_size = count(batch_size, "batch_size", "evaluate")
        self._bind(new_generator())
        with self._running(threads, "evaluate") as runner_for:
            figures = evaluate(self, runner_for(False), *self._to_device(x, y), is_one_hot(y), batch_size)
        if verbose:
            report_evaluation(format_metrics(figures))
        return figures

    def summary(self, input_shape=None):
        """A table (a string, not printed) of the layers, their output shapes and parameter counts, with the total.

        Shapes follow from the input: a network that has run knows its
        sample shape; before that give one sample's, ``input_shape=(28, 28, 1)``
        or ``(784,)``. Making the table builds no layer and draws nothing from
        any seeded generator (see :mod:`batchnet.summary`).
        """
        return summary_table(self, input_shape)

    def _running(self, threads, where):
        """``runner_for(training)`` for the block: see :func:`batchnet.training.runners.running`."""
        return running(self, threads, where)

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
        return check_inputs(x, self.sample_shape, where)

    def _check_data(self, x, y, where):
        return check_data(x, y, self.loss, self.sample_shape, where)

    def __repr__(self):
        lines = [f"NeuralNetwork(backend={self.backend.name}, dtype={self.dtype})"]
        lines += [f"  ({index}) {layer!r}" for index, layer in enumerate(self.layers)]
        if self.loss is not None:
            lines.append(f"  loss: {self.loss.__name__}")
        return "\n".join(lines)
