"""What the one-sample check run of a load may cost, worked out from the architecture before anything runs.

A load runs one zero sample of the recorded input shape through the layers
(:func:`batchnet.saving.architecture.set_parameters`), so that layers that do
not fit together fail at the load, not at the first ``predict``. What that run
costs is not bounded by the file's size: a padding of 3000 or a few
activations on an 8192x8192 input are a few bytes of JSON, and would take
gigabytes and tens of seconds. Each layer's output shape, the arrays its
forward makes for one sample and the work it does follow from its arguments
and its input's shape alone, so they are added up here first, and a network
over the budget is refused, naming the layer. ``save_model`` applies the same
budget, so that no file is written that ``load_model`` would refuse.
"""

import math
from typing import NamedTuple

from batchnet.layers import (
    ActivationLayer,
    BatchNormalizationLayer,
    ConvolutionalLayer,
    DropoutLayer,
    FCLayer,
    FlattenLayer,
)
from batchnet.layers.pooling import MaxPoolingLayer, PoolingLayer

# The arrays one layer's forward holds at once for one sample (its input, its
# output and its working arrays), and the work of the whole run: the budget of
# a load's check. 1 GiB is a float64 input at the sample bound
# (checks.MAX_SAMPLE_ELEMENTS) and its output; 2**31 operations (counted as
# below) take about 3 s on one core (measured: see README).
MAX_CHECK_BYTES = 1 << 30
MAX_CHECK_OPERATIONS = 1 << 31

# Besides its output, a layer's forward makes temporaries: softmax three arrays
# of the output's size in all (the shifted input, its exponentials, the
# quotient); an activation that writes into its output (relu, tanh) that one
# alone; batch norm three (the normalized input, the output, numpy's temporary
# of the product) and two of the features' size (1 / sqrt(var + eps)); a dense
# layer two (x W, then + b); max pooling its argmax and, without the compiled
# kernels, a mask of the windows' winners. tests/test_saving_budget.py measures
# each forward against these.
ACTIVATION_ARRAYS = 3
NORMALIZATION_ARRAYS = 3
DENSE_ARRAYS = 2
# Operations are counted in a convolution's multiply-adds (about 1.4 ns each on
# one core of the 2-core machine measured): a pooling window's comparison or sum
# takes up to 4 ns, so it counts 3; an element of an activation or of batch
# norm 0.4-12 ns (softplus's logaddexp the most), so it counts 4; and each
# element a forward makes, 4 more (a fresh page is faulted in and written).
POOLING_OPERATIONS = 3
ELEMENT_WISE_OPERATIONS = 4
MADE_ELEMENT_OPERATIONS = 4


class ForwardCost(NamedTuple):
    """One layer's forward on one sample: the shape it gives, the elements of the arrays it makes
    (its output included), and its operations, weighted as the constants above say."""

    output_shape: tuple
    new_elements: int
    operations: int


class OverBudget(ValueError):
    """A network whose one-sample check run would cost more than the budget; says which layer and why."""


def check_run_cost(layers, sample_shape, itemsize):
    """Refuse (:class:`OverBudget`) the first of ``layers`` that takes the one-sample run over the budget.

    ``sample_shape`` is the network's input sample shape, ``itemsize`` the
    bytes of one element of its dtype. A layer that cannot take its input's
    shape is a ValueError, worded as the layer's forward would word it.
    """
    shape = tuple(sample_shape)
    operations = 0
    for index, layer in enumerate(layers):
        cost = forward_cost(layer, shape)
        if cost is None:  # a type registered without a cost (tests keep every registered type here)
            break
        held = (math.prod(shape) + cost.new_elements) * itemsize
        if held > MAX_CHECK_BYTES:
            raise OverBudget(
                f"layer {index} ({layer.name}) would hold {_bytes_text(held)} for one sample of shape "
                f"{shape} (output {cost.output_shape}): a load's check run of one sample may use {_budget_text()}"
            )
        operations += cost.operations
        if operations > MAX_CHECK_OPERATIONS:
            raise OverBudget(
                f"layer {index} ({layer.name}) takes the check run of one sample of shape {tuple(sample_shape)} "
                f"to {operations:.3g} operations (this layer {cost.operations:.3g}, on input {shape}): "
                f"a load's check run of one sample may use {_budget_text()}"
            )
        shape = cost.output_shape
    return operations


def _budget_text():
    operations = MAX_CHECK_OPERATIONS.bit_length() - 1
    operations = f"2**{operations}" if MAX_CHECK_OPERATIONS == 1 << operations else f"{MAX_CHECK_OPERATIONS}"
    return f"{_bytes_text(MAX_CHECK_BYTES)} at once and {operations} operations in all"


def _bytes_text(size):
    """``size`` bytes as ``1.9 GiB``, ``1.5 KiB``, ``12 bytes``."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):.3g} {unit}"
    return f"{size} bytes"


def forward_cost(layer, sample_shape):
    """The :class:`ForwardCost` of ``layer`` on one sample of ``sample_shape``, from its arguments alone;
    None for a layer type not known here."""
    size = math.prod(sample_shape)
    if isinstance(layer, ConvolutionalLayer):
        return _convolution_cost(layer, sample_shape)
    if isinstance(layer, PoolingLayer):
        return _pooling_cost(layer, sample_shape)
    if isinstance(layer, FCLayer):
        return _cost((layer.output_size,), DENSE_ARRAYS * layer.output_size, size * layer.output_size)
    if isinstance(layer, FlattenLayer):
        return _cost((size,), size, 0)
    if isinstance(layer, ActivationLayer):
        arrays = 1 if getattr(layer.activation, "writes_into", False) else ACTIVATION_ARRAYS
        return _cost(sample_shape, arrays * size, ELEMENT_WISE_OPERATIONS * size)
    if isinstance(layer, BatchNormalizationLayer):
        features = sample_shape[-1]
        return _cost(sample_shape, NORMALIZATION_ARRAYS * size + 2 * features, ELEMENT_WISE_OPERATIONS * size)
    if isinstance(layer, DropoutLayer):
        return _cost(sample_shape, size, 0)
    return None


def _cost(output_shape, made, work):
    """The ForwardCost of a forward that makes ``made`` elements and does ``work`` operations on them."""
    return ForwardCost(tuple(output_shape), made, work + MADE_ELEMENT_OPERATIONS * made)


def _window_shapes(layer, sample_shape):
    """``channels, (OH, OW), padded elements`` of a window layer's one-sample input."""
    if len(sample_shape) != 3:
        raise ValueError(f"{layer.name}: expected input (N, H, W, C), got shape {(1, *sample_shape)}")
    height, width, channels = sample_shape
    output = layer.output_shape((1, *sample_shape))[1:3]
    (row_padding, column_padding) = layer.padding
    # the pure-NumPy kernels pad a copy of the input first
    padded = (height + 2 * row_padding) * (width + 2 * column_padding) * channels
    return channels, output, padded


def _convolution_cost(layer, sample_shape):
    channels, (oh, ow), padded = _window_shapes(layer, sample_shape)
    kh, kw = layer.filter_shape
    columns = oh * ow * kh * kw * channels  # im2col of the sample: one row per output pixel
    output = oh * ow * layer.filters_count
    return _cost((oh, ow, layer.filters_count), padded + columns + output, columns * layer.filters_count)


def _pooling_cost(layer, sample_shape):
    channels, (oh, ow), padded = _window_shapes(layer, sample_shape)
    kh, kw = layer.pool_shape
    output = oh * ow * channels
    argmax_and_mask = 2 * output if isinstance(layer, MaxPoolingLayer) else 0
    return _cost((oh, ow, channels), padded + output + argmax_and_mask, POOLING_OPERATIONS * output * kh * kw)
