"""The table behind ``NeuralNetwork.summary()``: each layer's output shape and parameter count, with totals.

The shapes and counts come from the layers themselves: one sample of zeros
runs through a replica of each layer (:meth:`~batchnet.layers.base.Layer.replica`),
in inference mode. A replica shares a built layer's parameters and draws
its own for a layer not built yet, from a generator of its own, so making
the table changes nothing in the network: a layer that has not run stays
unbuilt, and the seeded generators of a later ``fit`` draw what they would
have drawn.
"""

import numpy as np

from batchnet.arguments import check_inputs

HEADER = ("#", "Layer", "Output shape", "Parameters")


def summary_table(network, input_shape=None):
    """The table string for ``network`` on samples of ``input_shape`` (default: the shape it last ran on)."""
    sample_shape = _sample_shape(network, input_shape)
    # one sample of the network's dtype, as fit would make it (2-D images gain their channel axis)
    sample = check_inputs(np.zeros((1, *sample_shape), dtype=network.dtype), network.sample_shape, "summary")
    batch = network.backend.asarray(sample, dtype=network.dtype)
    rows = []
    total = 0
    for index, layer in enumerate(network.layers):
        replica = layer.replica()
        replica.training = False
        replica.reuse_buffers = False
        if replica.backend is None:
            replica.backend = network.backend
        if replica.rng is None:
            replica.rng = np.random.default_rng(0)  # throwaway weights: only their shapes are read
        batch = replica.forward_propagation(batch)
        count = sum(int(array.size) for array in replica.parameters().values())
        total += count
        rows.append((str(index), repr(layer), _shape(batch.shape[1:]), f"{count:,}"))
    return _format(network, sample.shape[1:], rows, total)


def _sample_shape(network, input_shape):
    known = network.sample_shape
    if input_shape is None:
        if known is None:
            raise ValueError(
                "NeuralNetwork.summary: the network has not run yet, so its shapes are not known; "
                "give the shape of one input sample, e.g. summary(input_shape=(28, 28, 1)) or (784,)"
            )
        return known
    if (isinstance(input_shape, (str, bytes)) or not hasattr(input_shape, "__iter__")
            or not all(isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size > 0
                       for size in input_shape) or len(tuple(input_shape)) == 0):
        raise ValueError(
            f"NeuralNetwork.summary: input_shape must be the shape of one sample, a tuple of positive ints "
            f"such as (28, 28, 1), got {input_shape!r}"
        )
    input_shape = tuple(int(size) for size in input_shape)
    if known is not None and input_shape not in (known, known[:-1] if known[-1:] == (1,) else known):
        raise ValueError(
            f"NeuralNetwork.summary: input_shape {input_shape} differs from the samples of shape {known} "
            "the network has run on (its parameters are sized for those)"
        )
    return input_shape


def _shape(shape):
    return "(N, " + ", ".join(str(size) for size in shape) + ")"


def _format(network, sample_shape, rows, total):
    widths = [max(len(row[column]) for row in [HEADER, *rows]) for column in range(len(HEADER))]

    def line(cells):
        # numbers right-aligned, names left-aligned
        return "  ".join(cell.rjust(width) if column in (0, 3) else cell.ljust(width)
                         for column, (cell, width) in enumerate(zip(cells, widths))).rstrip()

    rule = "-" * len(line(["-" * width for width in widths]))
    title = (f"NeuralNetwork (backend {network.backend.name}, {network.dtype}), "
             f"input (N, {', '.join(map(str, sample_shape))})")
    lines = [title, rule, line(HEADER), rule, *(line(row) for row in rows), rule,
             f"Total parameters: {total:,}"]
    if network.loss is not None:
        lines.append(f"Loss: {network.loss.__name__}")
    return "\n".join(lines)
