"""What the layer tests share: the reference comparison and the finite-difference check.

Batched vs reference: for a batch ``x`` and an output error ``g``, the batched
layer's output and input error must be the per-sample reference's, row by
row, and its parameter gradients the SUM of the reference's per-sample
gradients (the batched layers do not divide by N; the losses do), in float64
within ``REFERENCE_RTOL``. The reference's initial weights are copied into the
batched layer.

Finite differences: a layer is checked through ``E = sum(output * G)`` for a
random ``G``: the input error and each parameter gradient, entry by entry,
within ``DIFFERENCE_RTOL``.
"""

import numpy as np

from batchnet.gradient_check import layer_gradients, numerical_layer_gradients
from batchnet.reference.comparison import run_batched, run_reference

REFERENCE_RTOL = 1e-10
REFERENCE_ATOL = 1e-12
DIFFERENCE_RTOL = 1e-6
DIFFERENCE_ATOL = 1e-7


# (batch, sample shape, filters, filter_shape, padding, stride)
CONV_CASES = [
    (3, (5, 5, 1), 2, (3, 3), 0, 1),
    (2, (7, 6, 3), 4, (3, 2), (1, 2), (2, 1)),
    (2, (6, 7, 2), 3, (2, 3), 1, 2),
    (1, (5, 4, 2), 2, (1, 1), 0, 1),
    (2, (4, 5, 2), 2, (4, 5), 0, 1),
    (2, (5, 5, 1), 1, (3, 3), 2, 3),
    (1, (9, 7, 2), 2, (5, 3), (2, 0), (3, 2)),
    # more weights than batchnet.layers.conv.SMALL_KERNEL_SIZE: the other weight-gradient path
    (2, (5, 4, 12), 12, (3, 3), 1, 1),
]


# (batch, sample shape, pool_shape, stride, padding)
POOL_CASES = [
    (3, (4, 4, 2), (2, 2), 2, 0),
    (2, (5, 5, 2), (3, 3), 1, 1),
    (2, (7, 6, 3), (3, 2), (2, 1), (1, 1)),
    (1, (5, 7, 1), (2, 3), 3, (1, 1)),
    (2, (6, 6, 1), (4, 4), 2, 2),
    (2, (5, 3, 2), (1, 3), (1, 2), 0),
]


def random_conv_cases(count, seed):
    """Seeded random convolutions: odd sizes, non-square kernels, strides and paddings."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        height, width = (int(v) for v in rng.integers(1, 9, 2))
        channels = int(rng.integers(1, 4))
        kernel = tuple(int(v) for v in rng.integers(1, 5, 2))
        padding = tuple(int(v) for v in rng.integers(0, 3, 2))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        if kernel[0] <= height + 2 * padding[0] and kernel[1] <= width + 2 * padding[1]:
            batch, filters = int(rng.integers(1, 4)), int(rng.integers(1, 4))
            cases.append((batch, (height, width, channels), filters, kernel, padding, stride))
    return cases


def random_pool_cases(count, seed):
    """Seeded random pools: overlapping (stride < pool), gapped (stride > pool), padded."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        height, width = (int(v) for v in rng.integers(1, 9, 2))
        channels = int(rng.integers(1, 4))
        pool = tuple(int(v) for v in rng.integers(1, 5, 2))
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in pool)
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        if pool[0] <= height + 2 * padding[0] and pool[1] <= width + 2 * padding[1]:
            cases.append((int(rng.integers(1, 4)), (height, width, channels), pool, stride, padding))
    return cases


ALL_CONV_CASES = CONV_CASES + random_conv_cases(8, seed=2024)
ALL_POOL_CASES = POOL_CASES + random_pool_cases(8, seed=2025)


def case_id(case):
    return "-".join(str(part).replace(" ", "") for part in case)


def copy_parameters(reference_layer, batched_layer, backend, first_sample):
    """Let the reference draw its weights, then give the batched layer the same ones."""
    reference_layer.initialize(first_sample)
    batched_layer.weights = backend.asarray(reference_layer.weights.copy())
    batched_layer.bias = backend.asarray(reference_layer.bias.copy())


def assert_same_as_reference(reference_layer, batched_layer, backend, x, seed=1):
    """Forward and backward through both layers with the same output error; all results equal."""
    reference_output = reference_layer.forward_propagation(x[0])
    output_error = np.random.default_rng(seed).standard_normal((len(x),) + reference_output.shape)
    expected = run_reference(reference_layer, x, output_error)
    actual = run_batched(batched_layer.bind(backend, np.random.default_rng(0)), backend, x, output_error)
    for what, mine, theirs in zip(("output", "input error"), actual[:2], expected[:2]):
        np.testing.assert_allclose(mine, theirs, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL,
                                   err_msg=f"{batched_layer!r} {what} (batched vs reference)")
    assert set(actual[2]) == set(expected[2])
    for name in expected[2]:
        np.testing.assert_allclose(actual[2][name], expected[2][name], rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL,
                                   err_msg=f"{batched_layer!r} dE/d{name} (batched vs summed reference)")


def images(batch, shape, seed):
    return np.random.default_rng(seed).standard_normal((batch,) + shape)


def assert_layer_gradients_match_differences(layer, backend, x, seed=0):
    layer.bind(backend, np.random.default_rng(seed))
    x = backend.asarray(x)
    output = layer.forward_propagation(x)
    output_error = backend.asarray(np.random.default_rng(seed + 1).standard_normal(output.shape))
    analytic = layer_gradients(layer, x, output_error)
    numeric = numerical_layer_gradients(layer, x, output_error)
    assert set(analytic) == set(numeric) == {"input", *layer.parameter_names}
    for name in numeric:
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=DIFFERENCE_RTOL, atol=DIFFERENCE_ATOL,
                                   err_msg=f"{layer!r}: dE/d{name} (analytic vs differences)")


def standard_normal(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)
