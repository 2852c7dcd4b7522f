"""The NumPy backend's compiled batch-norm kernels against the backend's one-operation-per-line NumPy code.

``Backend.batch_norm_forward`` / ``batch_norm_backward`` (backends/base.py)
are the formulas written out, one NumPy operation each, and what the GPU and
the fallback run; the layer's tests check those against the per-sample loop
reference. Here the compiled passes (``_norm_kernels.pxi``) are checked against
them, on shapes down to one row and one column, for the shifted sums that keep
a small variance under a large mean, and for the shape checks that stand
between the unchecked loops and memory.
"""

import numpy as np
import pytest

from backends.numpy_backend import NumpyBackend, extension_unavailable_reason

TOLERANCE = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}


@pytest.fixture
def compiled():
    reason = extension_unavailable_reason()
    if reason is not None:
        pytest.skip(f"compiled kernels unavailable: {reason}")
    return NumpyBackend(use_extension=True)


def arrays(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    rows = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    features = shape[1]
    gamma = rng.uniform(0.5, 2, features).astype(dtype)
    beta = rng.standard_normal(features).astype(dtype)
    errors = rng.standard_normal(shape).astype(dtype)
    return rows, gamma, beta, errors


def forward(backend, rows, gamma, beta):
    normalized, output = np.empty_like(rows), np.empty_like(rows)
    statistics = backend.batch_norm_forward(rows, gamma, beta, 1e-5, normalized, output)
    return (*statistics, normalized, output)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (7, 3), (200, 33), (3, 64)])
def test_forward_and_backward_equal_the_numpy_formulas(compiled, dtype, shape):
    plain = NumpyBackend(use_extension=False)
    rows, gamma, beta, errors = arrays(shape, dtype)
    expected, got = forward(plain, rows, gamma, beta), forward(compiled, rows, gamma, beta)
    for name, want, have in zip(("mean", "variance", "inverse_std", "normalized", "output"), expected, got):
        assert have.dtype == dtype, name
        np.testing.assert_allclose(have, want, **TOLERANCE[dtype], err_msg=name)
    normalized, scale = expected[3], gamma * expected[2]
    for with_input_error in (False, True):
        want_error, have_error = (np.empty_like(errors) if with_input_error else None for _ in range(2))
        want = plain.batch_norm_backward(errors, normalized, scale, want_error)
        have = compiled.batch_norm_backward(errors, normalized, scale, have_error)
        for name, a, b in zip(("gamma_gradient", "beta_gradient"), want, have):
            assert b.dtype == dtype
            np.testing.assert_allclose(b, a, **TOLERANCE[dtype], err_msg=name)
        if with_input_error:
            np.testing.assert_allclose(have_error, want_error, **TOLERANCE[dtype])


def test_a_small_variance_under_a_large_mean_is_not_cancelled_away(compiled):
    # mean 1e4, std 1e-3: sum(x^2)/M - mean^2 unshifted loses about 1e-8 * 1e8 = 1 of a variance of 1e-6
    rows = 1e4 + 1e-3 * np.random.default_rng(1).standard_normal((5000, 2))
    mean, variance, _, _, _ = forward(compiled, rows, np.ones(2), np.zeros(2))
    np.testing.assert_allclose(mean, rows.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(variance, rows.var(axis=0), rtol=1e-7)


def test_every_array_of_the_wrong_size_is_refused_by_name():
    reason = extension_unavailable_reason()
    if reason is not None:
        pytest.skip(f"compiled kernels unavailable: {reason}")
    from backends import _cpu_kernels as kernels

    rows = np.zeros((4, 3), np.float32)
    column = np.zeros(3, np.float32)
    good = dict(rows=rows, gamma=column, beta=column, normalized=rows.copy(), output=rows.copy(),
                mean=column.copy(), variance=column.copy(), inverse_std=column.copy())
    order = ("rows", "gamma", "beta", "normalized", "output", "mean", "variance", "inverse_std")
    for name in order[1:]:
        bad = dict(good, **{name: np.zeros((5, 3) if good[name].ndim == 2 else 4, np.float32)})
        with pytest.raises(ValueError, match=f"batch_norm_forward: expected {name} of shape"):
            kernels.batch_norm_forward(*(bad[key] for key in order[:3]), 1e-5, *(bad[key] for key in order[3:]))
    with pytest.raises(ValueError, match="at least one row"):
        kernels.batch_norm_forward(np.zeros((0, 3), np.float32), column, column, 1e-5, np.zeros((0, 3), np.float32),
                                   np.zeros((0, 3), np.float32), column.copy(), column.copy(), column.copy())
    gradient = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="batch_norm_backward: expected normalized of shape"):
        kernels.batch_norm_backward(rows, np.zeros((3, 3), np.float32), column, gradient, gradient.copy(), None)
    with pytest.raises(ValueError, match="batch_norm_backward: expected input_error of shape"):
        kernels.batch_norm_backward(rows, rows, column, gradient, gradient.copy(), np.zeros((4, 2), np.float32))


def test_arrays_the_kernels_cannot_take_go_to_the_numpy_formulas(compiled):
    # a non-contiguous output buffer: the backend must not hand it to the kernel, and gives the same results
    rows, gamma, beta, _ = arrays((6, 4), np.float64)
    normalized = np.empty((6, 8))[:, ::2]
    output = np.empty_like(rows)
    statistics = compiled.batch_norm_forward(rows, gamma, beta, 1e-5, normalized, output)
    expected = forward(NumpyBackend(use_extension=False), rows, gamma, beta)
    for want, have in zip(expected, (*statistics, normalized, output)):
        np.testing.assert_allclose(have, want, rtol=1e-12)
