"""The backend's pooling kernels against direct loop definitions.

Max pooling pads with -inf and sends the error to the FIRST maximum of each
window (row-major kernel order); average pooling counts the zero padding.
Windows may overlap (stride < pool), and overlapping errors are summed.
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.numpy_backend import NumpyBackend, extension_unavailable_reason

FALLBACK = NumpyBackend(use_extension=False)

bounded = settings(max_examples=60, deadline=None)


def compiled_backend():
    reason = extension_unavailable_reason()
    if reason is not None:
        pytest.skip(f"compiled kernels unavailable: {reason}")
    return NumpyBackend(use_extension=True)


def backends_to_check():
    return [
        pytest.param(False, id="numpy-fallback"),
        pytest.param(True, id="numpy-compiled"),
    ]


def backend_with(use_extension):
    return compiled_backend() if use_extension else FALLBACK


@st.composite
def geometries(draw):
    """``(input_shape, pool, stride, padding)``, padding at most half the pool, as the layers allow."""
    n = draw(st.integers(1, 2))
    height, width = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    channels = draw(st.integers(1, 3))
    kh = draw(st.integers(1, min(4, height)))
    kw = draw(st.integers(1, min(4, width)))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return (n, height, width, channels), (kh, kw), (sh, sw), (ph, pw)


def tie_prone_images(shape, seed):
    """Few distinct values, so that most windows hold a tie for the maximum."""
    return np.random.default_rng(seed).integers(-2, 2, size=shape).astype(np.float64)


def windows(input_shape, pool, stride, padding):
    """Yield ``(r, q, [(offset, y, x), ...])``: each output position and the input cells it covers."""
    _, height, width, _ = input_shape
    (kh, kw), (sh, sw), (ph, pw) = pool, stride, padding
    oh = (height + 2 * ph - kh) // sh + 1
    ow = (width + 2 * pw - kw) // sw + 1
    for r in range(oh):
        for q in range(ow):
            cells = [(i * kw + j, r * sh - ph + i, q * sw - pw + j) for i in range(kh) for j in range(kw)]
            yield r, q, cells


def output_shape(input_shape, pool, stride, padding):
    positions = list(windows(input_shape, pool, stride, padding))
    oh, ow = positions[-1][0] + 1, positions[-1][1] + 1
    return (input_shape[0], oh, ow, input_shape[3])


def inside(y, x, input_shape):
    return 0 <= y < input_shape[1] and 0 <= x < input_shape[2]


def max_pool_loops(images, pool, stride, padding):
    output = np.empty(output_shape(images.shape, pool, stride, padding), dtype=images.dtype)
    argmax = np.empty(output.shape, dtype=np.int64)
    for n in range(images.shape[0]):
        for c in range(images.shape[3]):
            for r, q, cells in windows(images.shape, pool, stride, padding):
                best, best_offset = -np.inf, None
                for offset, y, x in cells:
                    value = images[n, y, x, c] if inside(y, x, images.shape) else -np.inf
                    if best_offset is None or value > best:
                        best, best_offset = value, offset
                output[n, r, q, c], argmax[n, r, q, c] = best, best_offset
    return output, argmax


def max_pool_backward_loops(output_error, images, pool, stride, padding):
    """Each output's error goes to the first maximum of its window, summed where windows overlap."""
    _, argmax = max_pool_loops(images, pool, stride, padding)
    input_error = np.zeros(images.shape, dtype=output_error.dtype)
    for n in range(images.shape[0]):
        for c in range(images.shape[3]):
            for r, q, cells in windows(images.shape, pool, stride, padding):
                _, y, x = cells[argmax[n, r, q, c]]
                input_error[n, y, x, c] += output_error[n, r, q, c]
    return input_error


def avg_pool_loops(images, pool, stride, padding):
    output = np.zeros(output_shape(images.shape, pool, stride, padding), dtype=images.dtype)
    size = pool[0] * pool[1]
    for n in range(images.shape[0]):
        for c in range(images.shape[3]):
            for r, q, cells in windows(images.shape, pool, stride, padding):
                total = sum(images[n, y, x, c] for _, y, x in cells if inside(y, x, images.shape))
                output[n, r, q, c] = total / size
    return output


def avg_pool_backward_loops(output_error, input_shape, pool, stride, padding):
    input_error = np.zeros(input_shape, dtype=output_error.dtype)
    size = pool[0] * pool[1]
    for n in range(input_shape[0]):
        for c in range(input_shape[3]):
            for r, q, cells in windows(input_shape, pool, stride, padding):
                for _, y, x in cells:
                    if inside(y, x, input_shape):
                        input_error[n, y, x, c] += output_error[n, r, q, c] / size
    return input_error


@pytest.mark.parametrize("use_extension", backends_to_check())
@bounded
@given(geometry=geometries(), seed=st.integers(0, 2**32 - 1))
def test_max_pool_matches_the_loop_definition_first_maximum_on_ties(use_extension, geometry, seed):
    backend = backend_with(use_extension)
    input_shape, pool, stride, padding = geometry
    images = tie_prone_images(input_shape, seed)
    output, argmax = backend.max_pool(images, pool, stride, padding)
    expected_output, expected_argmax = max_pool_loops(images, pool, stride, padding)
    np.testing.assert_array_equal(output, expected_output)
    np.testing.assert_array_equal(argmax, expected_argmax)


@pytest.mark.parametrize("use_extension", backends_to_check())
@bounded
@given(geometry=geometries(), seed=st.integers(0, 2**32 - 1))
def test_max_pool_backward_matches_the_loop_definition(use_extension, geometry, seed):
    backend = backend_with(use_extension)
    input_shape, pool, stride, padding = geometry
    images = tie_prone_images(input_shape, seed)
    output, argmax = backend.max_pool(images, pool, stride, padding)
    output_error = np.random.default_rng(seed + 1).standard_normal(output.shape)
    np.testing.assert_allclose(
        backend.max_pool_backward(output_error, argmax, input_shape, pool, stride, padding),
        max_pool_backward_loops(output_error, images, pool, stride, padding),
        rtol=1e-12, atol=1e-12,
    )


@bounded
@given(geometries(), st.integers(0, 2**32 - 1), st.sampled_from([np.float32, np.float64]))
def test_compiled_max_pool_backward_equals_the_fallback(geometry, seed, dtype):
    compiled = compiled_backend()
    input_shape, pool, stride, padding = geometry
    images = tie_prone_images(input_shape, seed).astype(dtype)
    output, argmax = FALLBACK.max_pool(images, pool, stride, padding)
    output_error = np.random.default_rng(seed + 1).standard_normal(output.shape).astype(dtype)
    result = compiled.max_pool_backward(output_error, argmax, input_shape, pool, stride, padding)
    assert result.dtype == dtype
    np.testing.assert_allclose(
        result,
        FALLBACK.max_pool_backward(output_error, argmax, input_shape, pool, stride, padding),
        rtol=1e-6, atol=1e-6,
    )


@pytest.mark.parametrize("use_extension", backends_to_check())
@bounded
@given(geometry=geometries(), seed=st.integers(0, 2**32 - 1))
def test_avg_pool_matches_the_loop_definition(use_extension, geometry, seed):
    input_shape, pool, stride, padding = geometry
    images = np.random.default_rng(seed).standard_normal(input_shape)
    np.testing.assert_allclose(
        backend_with(use_extension).avg_pool(images, pool, stride, padding),
        avg_pool_loops(images, pool, stride, padding),
        rtol=1e-12, atol=1e-12,
    )


@pytest.mark.parametrize("use_extension", backends_to_check())
@bounded
@given(geometry=geometries(), seed=st.integers(0, 2**32 - 1))
def test_avg_pool_backward_matches_the_loop_definition(use_extension, geometry, seed):
    input_shape, pool, stride, padding = geometry
    output_error = np.random.default_rng(seed).standard_normal(
        output_shape(input_shape, pool, stride, padding)
    )
    np.testing.assert_allclose(
        backend_with(use_extension).avg_pool_backward(output_error, input_shape, pool, stride, padding),
        avg_pool_backward_loops(output_error, input_shape, pool, stride, padding),
        rtol=1e-12, atol=1e-12,
    )


@bounded
@given(geometries(), st.integers(0, 2**32 - 1))
def test_compiled_avg_pool_equals_the_fallback_in_float32(geometry, seed):
    compiled = compiled_backend()
    input_shape, pool, stride, padding = geometry
    rng = np.random.default_rng(seed)
    images = rng.standard_normal(input_shape).astype(np.float32)
    output = compiled.avg_pool(images, pool, stride, padding)
    assert output.dtype == np.float32
    np.testing.assert_allclose(output, FALLBACK.avg_pool(images, pool, stride, padding),
                               rtol=1e-5, atol=1e-6)
    output_error = rng.standard_normal(output.shape).astype(np.float32)
    input_error = compiled.avg_pool_backward(output_error, input_shape, pool, stride, padding)
    assert input_error.dtype == np.float32
    np.testing.assert_allclose(
        input_error, FALLBACK.avg_pool_backward(output_error, input_shape, pool, stride, padding),
        rtol=1e-5, atol=1e-6,
    )


@pytest.mark.parametrize("use_extension", backends_to_check())
def test_max_pool_tie_sends_the_error_to_the_first_maximum_only(use_extension):
    backend = backend_with(use_extension)
    images = np.full((1, 2, 2, 1), 3.0)
    output, argmax = backend.max_pool(images, (2, 2), (2, 2), (0, 0))
    assert output.item() == 3.0 and argmax.item() == 0
    input_error = backend.max_pool_backward(np.ones((1, 1, 1, 1)), argmax, images.shape, (2, 2), (2, 2), (0, 0))
    np.testing.assert_array_equal(input_error[0, :, :, 0], [[1.0, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize("use_extension", backends_to_check())
def test_max_pool_overlapping_windows_sum_their_errors(use_extension):
    # pool 1x2, stride 1 over [1, 5, 2]: both windows pick the 5
    backend = backend_with(use_extension)
    images = np.array([1.0, 5.0, 2.0]).reshape(1, 1, 3, 1)
    output, argmax = backend.max_pool(images, (1, 2), (1, 1), (0, 0))
    np.testing.assert_array_equal(output.ravel(), [5.0, 5.0])
    output_error = np.array([0.25, 0.5]).reshape(1, 1, 2, 1)
    input_error = backend.max_pool_backward(output_error, argmax, images.shape, (1, 2), (1, 1), (0, 0))
    np.testing.assert_array_equal(input_error.ravel(), [0.0, 0.75, 0.0])


@pytest.mark.parametrize("use_extension", backends_to_check())
def test_max_pool_padding_never_wins_over_negative_inputs(use_extension):
    backend = backend_with(use_extension)
    images = -1.0 - np.random.default_rng(0).random((2, 4, 5, 3))
    output, argmax = backend.max_pool(images, (3, 3), (1, 1), (1, 1))
    assert (output < 0).all(), "a padded cell (0 or -inf) was taken as the maximum"
    np.testing.assert_array_equal(output, max_pool_loops(images, (3, 3), (1, 1), (1, 1))[0])
    input_error = backend.max_pool_backward(np.ones(output.shape), argmax, images.shape, (3, 3), (1, 1), (1, 1))
    # every window routes its unit of error to a real input cell
    assert input_error.sum() == pytest.approx(output.size)


@pytest.mark.parametrize("use_extension", backends_to_check())
def test_avg_pool_counts_zero_padding_in_the_mean(use_extension):
    images = np.ones((1, 2, 2, 1))
    output = backend_with(use_extension).avg_pool(images, (2, 2), (2, 2), (1, 1))
    np.testing.assert_array_equal(output[0, :, :, 0], np.full((2, 2), 0.25))


@pytest.mark.parametrize("use_extension", backends_to_check())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pooling_keeps_the_dtype(dtype, use_extension):
    backend = backend_with(use_extension)
    images = np.ones((1, 4, 4, 2), dtype=dtype)
    output, argmax = backend.max_pool(images, (2, 2), (2, 2), (0, 0))
    assert output.dtype == dtype
    assert backend.max_pool_backward(output, argmax, images.shape, (2, 2), (2, 2), (0, 0)).dtype == dtype
    assert backend.avg_pool(images, (2, 2), (2, 2), (0, 0)).dtype == dtype
    assert backend.avg_pool_backward(output, images.shape, (2, 2), (2, 2), (0, 0)).dtype == dtype


def compiled_kernels():
    """The compiled module itself, whose kernels check their arrays (they index without bounds checks)."""
    compiled_backend()  # skips without the extension
    from backends import _cpu_kernels

    return _cpu_kernels


def _pooling_calls(images, output, argmax, window):
    """Each compiled pooling kernel called on ``images`` (N, 6, 6, C) and the given output-side arrays."""
    kernels = compiled_kernels()
    return {
        "max_pool": lambda: kernels.max_pool(images, output, argmax, *window),
        "max_pool_backward": lambda: kernels.max_pool_backward(output, argmax, images, *window),
        "max_pool_backward_tiled": lambda: kernels.max_pool_backward_tiled(output, argmax, images, *window[:2]),
        "avg_pool": lambda: kernels.avg_pool(images, output, *window),
        "avg_pool_backward": lambda: kernels.avg_pool_backward(output, images, *window),
    }


POOLING_KERNELS = ["max_pool", "max_pool_backward", "max_pool_backward_tiled", "avg_pool", "avg_pool_backward"]
WINDOW_2X2 = (2, 2, 2, 2, 0, 0)  # kh, kw, sh, sw, ph, pw


@pytest.mark.parametrize("kernel", POOLING_KERNELS)
def test_compiled_pooling_kernels_accept_arrays_that_fit_the_images(kernel):
    images = np.zeros((2, 6, 6, 3), dtype=np.float32)
    output = np.ones((2, 3, 3, 3), dtype=np.float32)
    argmax = np.zeros((2, 3, 3, 3), dtype=np.int32)
    _pooling_calls(images, output, argmax, WINDOW_2X2)[kernel]()


@pytest.mark.parametrize("kernel", POOLING_KERNELS)
@pytest.mark.parametrize("images_shape", [(1, 6, 6, 3), (2, 6, 6, 4), (2, 8, 6, 3), (2, 6, 4, 3)],
                         ids=["fewer-images", "more-channels", "taller", "narrower"])
def test_compiled_pooling_kernels_refuse_output_arrays_that_do_not_fit_the_images(kernel, images_shape):
    images = np.zeros(images_shape, dtype=np.float32)
    output = np.ones((2, 3, 3, 3), dtype=np.float32)
    argmax = np.zeros((2, 3, 3, 3), dtype=np.int32)
    expected = (images_shape[0], (images_shape[1] - 2) // 2 + 1, (images_shape[2] - 2) // 2 + 1, images_shape[3])
    with pytest.raises(ValueError, match=rf"^{kernel}: expected \w+ of shape {re.escape(str(expected))}, "
                                         r"got \(2, 3, 3, 3\)$"):
        _pooling_calls(images, output, argmax, WINDOW_2X2)[kernel]()


@pytest.mark.parametrize("kernel", ["max_pool", "max_pool_backward", "max_pool_backward_tiled"])
def test_compiled_max_pool_kernels_refuse_an_argmax_that_does_not_fit(kernel):
    images = np.zeros((2, 6, 6, 3), dtype=np.float32)
    output = np.ones((2, 3, 3, 3), dtype=np.float32)
    argmax = np.zeros((2, 3, 2, 3), dtype=np.int32)
    with pytest.raises(ValueError, match=rf"^{kernel}: expected argmax of shape \(2, 3, 3, 3\), got \(2, 3, 2, 3\)$"):
        _pooling_calls(images, output, argmax, WINDOW_2X2)[kernel]()


@pytest.mark.parametrize("kernel", ["max_pool", "max_pool_backward", "avg_pool", "avg_pool_backward"])
@pytest.mark.parametrize("window, message", [
    ((2, 2, 0, 2, 0, 0), "expected a window and stride of at least 1x1 and padding of at least 0"),
    ((0, 2, 1, 1, 0, 0), "expected a window and stride of at least 1x1 and padding of at least 0"),
    ((2, 2, 1, 1, -1, 0), "expected a window and stride of at least 1x1 and padding of at least 0"),
    ((9, 2, 1, 1, 1, 0), "window 9x2 is larger than the padded input 8x6"),
], ids=["zero-stride", "zero-window", "negative-padding", "window-over-the-padded-input"])
def test_compiled_pooling_kernels_refuse_a_geometry_they_cannot_slide(kernel, window, message):
    images = np.zeros((2, 6, 6, 3), dtype=np.float32)
    output = np.ones((2, 3, 3, 3), dtype=np.float32)
    argmax = np.zeros((2, 3, 3, 3), dtype=np.int32)
    with pytest.raises(ValueError, match=rf"^{kernel}: {re.escape(message)}"):
        _pooling_calls(images, output, argmax, window)[kernel]()
