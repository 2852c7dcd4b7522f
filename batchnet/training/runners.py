"""How a network runs its batches: the forward and backward passes over its layers, and the
:class:`~batchnet.training.parallel.BatchRunner` per mode that ``fit``, ``predict`` and
``evaluate`` use, on the threads asked for and with the layers' buffers reused.

Moved out of batchnet/network.py, which keeps ``NeuralNetwork._running`` as
the one way in, so that the network module stays the network's interface.
"""

import contextlib
import warnings

import numpy as np

from batchnet.arguments import count
from batchnet.training.parallel import BatchRunner, limit_threads


@contextlib.contextmanager
def running(network, threads, where):
    """``runner_for(training)``: a :class:`~batchnet.training.parallel.BatchRunner` per mode, on
    ``threads`` threads, with buffers reused.

    ``threads=None`` takes as many as BLAS is set to use. On the NumPy
    backend a large enough batch is cut into one shard per thread; else
    the threads go to BLAS. ``where`` names the caller in errors.
    """
    if threads is not None:
        threads = count(threads, "threads", where)
    with contextlib.ExitStack() as stack:
        if threads is not None:
            stack.enter_context(limit_threads(threads))
        if network.backend.on_device:
            threads = 1  # the device runs the batch in parallel already
        stack.enter_context(reusing_buffers(network.layers))
        # the layers' output sizes per sample, kept on the network while the layers stay
        # the same; a stale figure could only change how batches are cut, never a result
        layers = tuple(id(layer) for layer in network.layers)
        if network._output_sizes[0] != layers:
            network._output_sizes = (layers, {})
        runners = {}

        def runner_for(training):
            # one runner per mode: the layer replicas a runner makes for its shards
            # copy the layers' mode when made, so they stay in that runner's mode
            if training not in runners:
                runners[training] = stack.enter_context(BatchRunner(
                    network.layers, threads, forward_layers, backward_parameters,
                    elements_per_sample=network._output_sizes[1],
                ))
            return runners[training]

        yield runner_for


@contextlib.contextmanager
def reusing_buffers(layers):
    """Let the layers write their results into buffers kept from batch to batch.

    Safe here: each batch's outputs and errors are read before the next
    batch overwrites them (see :class:`~batchnet.layers.base.Layer`).
    """
    for layer in layers:
        layer.reuse_buffers = True
    try:
        yield
    finally:
        for layer in layers:
            layer.reuse_buffers = False


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


def warn_not_finite(network, inputs, outputs, where):
    """Warn (RuntimeWarning) that some of ``outputs`` are not finite, naming the first layer
    whose output stops being finite for the first such sample of ``inputs`` (finite host arrays).

    Called only once the outputs are found not finite, so that a run whose
    outputs are finite pays for one check of its final output and no more.
    """
    finite_rows = np.isfinite(outputs.reshape(len(outputs), -1)).all(axis=1)
    row = int(np.argmin(finite_rows))
    batch = network.backend.asarray(inputs[row:row + 1], dtype=network.dtype)
    culprit = "no layer when run alone (it overflowed only in its batch)"
    # the layers' own overflow warnings have been given once already, by the pass that failed
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for index, layer in enumerate(network.layers):
            batch = layer.forward_propagation(batch)
            if not bool(network.backend.xp.isfinite(batch).all()):
                culprit = f"layer {index}, {layer!r}"
                break
    warnings.warn(
        f"NeuralNetwork.{where}: the outputs of {int((~finite_rows).sum())} of {len(outputs)} samples are not "
        f"finite (NaN or inf) though the inputs are: for sample {row} they first stop being finite in {culprit}; "
        "a value overflowed the network's dtype (inputs far larger than the network was trained on?)",
        RuntimeWarning, stacklevel=3)
