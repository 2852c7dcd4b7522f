"""batchnet.saving.budget: what a layer's forward on one sample costs, worked out without running it."""

import tracemalloc

import numpy as np
import pytest

from backends.numpy_backend import NumpyBackend, extension_unavailable_reason
from batchnet import (
    ActivationLayer,
    AveragePoolingLayer,
    BatchNormalizationLayer,
    ConvolutionalLayer,
    DropoutLayer,
    FCLayer,
    FlattenLayer,
    MaxPoolingLayer,
)
from batchnet.activations import ACTIVATIONS
from batchnet.saving import budget
from batchnet.saving.architecture import LAYER_TYPES, _build_layer

# each large enough (1-4 MiB an array) that an array the estimate missed would show above numpy's own buffers
CASES = {
    "conv": (lambda: ConvolutionalLayer(4, 3, padding=1), (256, 256, 3)),
    "conv-strided": (lambda: ConvolutionalLayer(2, (5, 3), stride=(2, 1), padding=(4, 0)), (267, 239, 2)),
    "conv-wide-padding": (lambda: ConvolutionalLayer(3, 1, padding=200), (16, 16, 1)),
    "max-pool": (lambda: MaxPoolingLayer(2), (512, 512, 3)),
    "max-pool-overlapping": (lambda: MaxPoolingLayer(3, stride=1, padding=1), (256, 256, 4)),
    "avg-pool": (lambda: AveragePoolingLayer((2, 3), stride=(2, 1), padding=1), (300, 400, 3)),
    "fc": (lambda: FCLayer(300_000), (7, 7, 4)),
    "flatten": (FlattenLayer, (400, 400, 2)),
    "batch-norm-images": (BatchNormalizationLayer, (400, 400, 3)),
    "batch-norm-vectors": (BatchNormalizationLayer, (500_000,)),
    "dropout": (lambda: DropoutLayer(0.5), (500_000,)),
    **{f"activation-{name}": (lambda pair=pair: ActivationLayer(*pair), (512, 512, 2))
       for name, pair in ACTIVATIONS.items()},
}
# numpy's ufuncs buffer 8192 elements an operand where they broadcast or mask
NUMPY_BUFFERS = 256 * 1024


def numpy_backend(compiled):
    if compiled and extension_unavailable_reason() is not None:
        pytest.skip(f"compiled kernels unavailable: {extension_unavailable_reason()}")
    return NumpyBackend(use_extension=compiled)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "fallback"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_cost_bounds_what_a_forward_on_one_sample_makes_and_gives_its_output_shape(case, compiled):
    make, sample_shape = CASES[case]
    layer = make().bind(numpy_backend(compiled), np.random.default_rng(0))
    sample = np.zeros((1, *sample_shape), np.float32)
    layer.forward_propagation(sample)  # the parameters are made at the first forward: not part of its cost
    layer._forget_batch_state()
    cost = budget.forward_cost(layer, sample_shape)
    tracemalloc.start()
    try:
        output = layer.forward_propagation(sample)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert output.shape[1:] == cost.output_shape
    # the estimate counts every element in the network's dtype (argmax's int32 and masks too)
    assert peak <= cost.new_elements * 4 + NUMPY_BUFFERS, (peak, cost)


def test_every_layer_type_a_file_can_name_has_a_cost():
    arguments = {"FCLayer": {"output_size": 3}, "ConvolutionalLayer": {"filters_count": 2, "filter_shape": [3, 3]},
                 "ActivationLayer": {"activation": "tanh"}, "DropoutLayer": {"rate": 0.5}}
    for name in LAYER_TYPES:
        layer = _build_layer({"type": name, "arguments": arguments.get(name, {})}, "float32")
        assert budget.forward_cost(layer, (6, 6, 2)) is not None, name


def test_the_standard_cnn_is_well_within_the_budget():
    from batchnet.models import standard_cnn

    operations = budget.check_run_cost(standard_cnn().layers, (28, 28, 1), 4)
    assert 0 < operations < budget.MAX_CHECK_OPERATIONS / 100


def test_a_convolution_counts_im2col_and_its_multiply_adds():
    layer = ConvolutionalLayer(5, 3, stride=2, padding=1)
    cost = budget.forward_cost(layer, (9, 9, 2))
    # OH = OW = (9 + 2 - 3) // 2 + 1 = 5; columns 25 rows of 3*3*2; 5 filters
    assert cost.output_shape == (5, 5, 5)
    made = 11 * 11 * 2 + 25 * 18 + 25 * 5  # the padded input, the columns, the output
    assert cost.new_elements == made
    assert cost.operations == 25 * 18 * 5 + budget.MADE_ELEMENT_OPERATIONS * made


def test_a_window_that_does_not_fit_is_worded_as_the_layer_words_it():
    with pytest.raises(ValueError, match=r"^MaxPoolingLayer: kernel 5x5 is larger than the padded input 4x4"):
        budget.forward_cost(MaxPoolingLayer(5), (4, 4, 1))
    with pytest.raises(ValueError, match=r"^ConvolutionalLayer: expected input \(N, H, W, C\), got shape \(1, 16\)"):
        budget.forward_cost(ConvolutionalLayer(2, 3), (16,))
