"""im2col / col2im against a direct loop definition, and against each other.

Shapes, kernels (non-square included), strides and paddings are drawn by
hypothesis; the compiled col2im, the NumPy fallback and the loops written here
must agree (so must the compiled and the fallback im2col), and col2im must
be the adjoint of im2col.
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


@st.composite
def geometries(draw):
    """``(input_shape, kernel, stride, padding)`` with the kernel fitting the padded input."""
    n = draw(st.integers(1, 2))
    height, width = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    channels = draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    kh = draw(st.integers(1, min(4, height + 2 * ph)))
    kw = draw(st.integers(1, min(4, width + 2 * pw)))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return (n, height, width, channels), (kh, kw), (sh, sw), (ph, pw)


def output_shape(input_shape, kernel, stride, padding):
    _, height, width, _ = input_shape
    return (
        (height + 2 * padding[0] - kernel[0]) // stride[0] + 1,
        (width + 2 * padding[1] - kernel[1]) // stride[1] + 1,
    )


def im2col_loops(images, kernel, stride, padding):
    """columns[(n*OH + r)*OW + q, (i*KW + j)*C + c] = x[n, r*sh - ph + i, q*sw - pw + j, c] (0 outside)."""
    n_images, height, width, channels = images.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = output_shape(images.shape, kernel, stride, padding)
    columns = np.zeros((n_images * oh * ow, kh * kw * channels), dtype=images.dtype)
    for n in range(n_images):
        for r in range(oh):
            for q in range(ow):
                for i in range(kh):
                    for j in range(kw):
                        for c in range(channels):
                            y, x = r * sh - ph + i, q * sw - pw + j
                            if 0 <= y < height and 0 <= x < width:
                                columns[(n * oh + r) * ow + q, (i * kw + j) * channels + c] = images[n, y, x, c]
    return columns


def col2im_loops(columns, input_shape, kernel, stride, padding):
    """images[n, r*sh - ph + i, q*sw - pw + j, c] += columns[...]: every window summed back."""
    n_images, height, width, channels = input_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = output_shape(input_shape, kernel, stride, padding)
    images = np.zeros(input_shape, dtype=columns.dtype)
    for n in range(n_images):
        for r in range(oh):
            for q in range(ow):
                for i in range(kh):
                    for j in range(kw):
                        for c in range(channels):
                            y, x = r * sh - ph + i, q * sw - pw + j
                            if 0 <= y < height and 0 <= x < width:
                                images[n, y, x, c] += columns[(n * oh + r) * ow + q, (i * kw + j) * channels + c]
    return images


def random_columns(input_shape, kernel, stride, padding, dtype, seed):
    oh, ow = output_shape(input_shape, kernel, stride, padding)
    rows = input_shape[0] * oh * ow
    width = kernel[0] * kernel[1] * input_shape[3]
    return np.random.default_rng(seed).standard_normal((rows, width)).astype(dtype)


@pytest.mark.parametrize("use_extension", [False, True], ids=["numpy-fallback", "numpy-compiled"])
@bounded
@given(geometry=geometries(), seed=st.integers(0, 2**32 - 1),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_im2col_matches_the_loop_definition(use_extension, geometry, seed, dtype):
    # im2col only copies values, so every implementation must be exact
    backend = compiled_backend() if use_extension else FALLBACK
    input_shape, kernel, stride, padding = geometry
    images = np.random.default_rng(seed).standard_normal(input_shape).astype(dtype)
    columns = backend.im2col(images, kernel, stride, padding)
    assert columns.dtype == dtype
    np.testing.assert_array_equal(columns, im2col_loops(images, kernel, stride, padding))


@bounded
@given(geometries(), st.integers(0, 2**32 - 1))
def test_col2im_fallback_matches_the_loop_definition(geometry, seed):
    input_shape, kernel, stride, padding = geometry
    columns = random_columns(input_shape, kernel, stride, padding, np.float64, seed)
    np.testing.assert_allclose(
        FALLBACK.col2im(columns, input_shape, kernel, stride, padding),
        col2im_loops(columns, input_shape, kernel, stride, padding),
        rtol=1e-12, atol=1e-12,
    )


@bounded
@given(geometries(), st.integers(0, 2**32 - 1), st.sampled_from([np.float32, np.float64]))
def test_compiled_col2im_matches_fallback_and_loop_definition(geometry, seed, dtype):
    compiled = compiled_backend()
    input_shape, kernel, stride, padding = geometry
    columns = random_columns(input_shape, kernel, stride, padding, dtype, seed)
    result = compiled.col2im(columns, input_shape, kernel, stride, padding)
    assert result.dtype == dtype and result.shape == input_shape
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(
        result, FALLBACK.col2im(columns, input_shape, kernel, stride, padding),
        rtol=tolerance, atol=tolerance,
    )
    np.testing.assert_allclose(
        result, col2im_loops(columns, input_shape, kernel, stride, padding),
        rtol=tolerance, atol=tolerance,
    )


@bounded
@given(geometries(), st.integers(0, 2**32 - 1), st.sampled_from([np.float32, np.float64]),
       st.booleans())
def test_col2im_is_the_adjoint_of_im2col(geometry, seed, dtype, use_extension):
    # <im2col(x), c> == <x, col2im(c)> for every x and c
    backend = compiled_backend() if use_extension else FALLBACK
    input_shape, kernel, stride, padding = geometry
    rng = np.random.default_rng(seed)
    images = rng.standard_normal(input_shape).astype(dtype)
    columns = random_columns(input_shape, kernel, stride, padding, dtype, seed + 1)
    windows = backend.im2col(images, kernel, stride, padding)
    forward = np.vdot(windows, columns)
    adjoint = np.vdot(images, backend.col2im(columns, input_shape, kernel, stride, padding))
    # the two sums add the same products in a different order: bound by their magnitude
    scale = np.vdot(np.abs(windows), np.abs(columns))
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert abs(forward - adjoint) <= tolerance * scale + tolerance


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_and_col2im_keep_the_dtype(dtype):
    images = np.ones((2, 5, 4, 3), dtype=dtype)
    columns = FALLBACK.im2col(images, (3, 2), (2, 1), (1, 0))
    assert columns.dtype == dtype
    assert FALLBACK.col2im(columns, images.shape, (3, 2), (2, 1), (1, 0)).dtype == dtype


def test_col2im_sums_overlapping_windows():
    # 1x3 input, 1x2 kernel, stride 1: the middle pixel is in both windows
    columns = np.ones((2, 2))
    np.testing.assert_array_equal(
        FALLBACK.col2im(columns, (1, 1, 3, 1), (1, 2), (1, 1), (0, 0)).ravel(), [1, 2, 1]
    )


def test_col2im_rejects_columns_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"col2im: expected columns of shape \(4, 4\), got \(4, 3\)"):
        FALLBACK.col2im(np.zeros((4, 3)), (1, 3, 3, 1), (2, 2), (1, 1), (0, 0))


def test_im2col_reuses_a_fitting_out_buffer_and_ignores_another(backend):
    images = np.random.default_rng(3).standard_normal((2, 5, 6, 3)).astype(np.float32)
    on_device = backend.asarray(images)
    first = backend.im2col(on_device, (3, 2), (1, 2), (1, 0))
    second = backend.im2col(on_device * 2, (3, 2), (1, 2), (1, 0), out=first)
    assert second is first
    np.testing.assert_array_equal(
        backend.to_numpy(second), im2col_loops(images * 2, (3, 2), (1, 2), (1, 0))
    )
    wrong_dtype = backend.xp.empty(first.shape, dtype=np.float64)
    assert backend.im2col(on_device, (3, 2), (1, 2), (1, 0), out=wrong_dtype) is not wrong_dtype


@bounded
@given(geometries(), st.integers(0, 2**32 - 1), st.booleans())
def test_col2im_into_out_overwrites_it_with_the_sums(geometry, seed, use_extension):
    backend = compiled_backend() if use_extension else FALLBACK
    input_shape, kernel, stride, padding = geometry
    columns = random_columns(input_shape, kernel, stride, padding, np.float64, seed)
    out = np.full(input_shape, np.nan)  # garbage that must not survive
    result = backend.col2im(columns, input_shape, kernel, stride, padding, out=out)
    assert result is out
    np.testing.assert_allclose(out, col2im_loops(columns, input_shape, kernel, stride, padding),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("use_extension", [True, False])
def test_col2im_ignores_an_out_that_does_not_fit(use_extension):
    backend = compiled_backend() if use_extension else FALLBACK
    columns = random_columns((2, 4, 4, 1), (2, 2), (1, 1), (0, 0), np.float64, seed=0)
    expected = backend.col2im(columns, (2, 4, 4, 1), (2, 2), (1, 1), (0, 0))
    for out in (np.zeros((2, 4, 4, 2)), np.zeros((2, 4, 4, 1), np.float32),
                np.zeros((2, 4, 4, 2))[..., :1]):
        result = backend.col2im(columns, (2, 4, 4, 1), (2, 2), (1, 1), (0, 0), out=out)
        assert result is not out and not out.any()
        np.testing.assert_array_equal(result, expected)


def compiled_kernels():
    """The compiled module itself, whose kernels check their arrays (they index without bounds checks)."""
    compiled_backend()  # skips without the extension
    from backends import _cpu_kernels

    return _cpu_kernels


@pytest.mark.parametrize("kernel", ["im2col", "col2im"])
@pytest.mark.parametrize("columns_shape", [(17, 12), (18, 11), (0, 12)], ids=["rows", "columns", "empty"])
def test_compiled_kernels_refuse_columns_that_do_not_fit_the_images(kernel, columns_shape):
    # 2 images 4x4x3, 2x2 window, stride 1, padding 0: 2*3*3 windows of 2*2*3 entries
    images = np.zeros((2, 4, 4, 3), dtype=np.float32)
    columns = np.zeros(columns_shape, dtype=np.float32)
    arguments = (images, columns) if kernel == "im2col" else (columns, images)
    with pytest.raises(ValueError, match=rf"^{kernel}: expected columns of shape \(18, 12\), "
                                         rf"got \({columns_shape[0]}, {columns_shape[1]}\)$"):
        getattr(compiled_kernels(), kernel)(*arguments, 2, 2, 1, 1, 0, 0)


@pytest.mark.parametrize("kernel", ["im2col", "col2im"])
@pytest.mark.parametrize("window, message", [
    ((2, 2, 1, 0, 0, 0), "expected a window and stride of at least 1x1 and padding of at least 0"),
    ((2, 0, 1, 1, 0, 0), "expected a window and stride of at least 1x1 and padding of at least 0"),
    ((2, 2, 1, 1, 0, -1), "expected a window and stride of at least 1x1 and padding of at least 0"),
    ((2, 7, 1, 1, 0, 1), "window 2x7 is larger than the padded input 4x6"),
], ids=["zero-stride", "zero-window", "negative-padding", "window-over-the-padded-input"])
def test_compiled_kernels_refuse_a_geometry_they_cannot_slide(kernel, window, message):
    images = np.zeros((2, 4, 4, 3), dtype=np.float32)
    columns = np.zeros((18, 12), dtype=np.float32)
    arguments = (images, columns) if kernel == "im2col" else (columns, images)
    with pytest.raises(ValueError, match=rf"^{kernel}: {re.escape(message)}"):
        getattr(compiled_kernels(), kernel)(*arguments, *window)


@pytest.mark.parametrize("kernel", ["im2col", "col2im"])
def test_compiled_kernels_accept_columns_that_fit_the_images(kernel):
    images = np.arange(2 * 4 * 4 * 3, dtype=np.float64).reshape(2, 4, 4, 3)
    columns = np.empty((18, 12), dtype=np.float64)
    compiled_kernels().im2col(images, columns, 2, 2, 1, 1, 0, 0)
    if kernel == "col2im":
        summed = np.zeros_like(images)
        compiled_kernels().col2im(columns, summed, 2, 2, 1, 1, 0, 0)
        np.testing.assert_array_equal(summed, FALLBACK.col2im(columns, images.shape, (2, 2), (1, 1), (0, 0)))
    else:
        np.testing.assert_array_equal(columns, FALLBACK.im2col(images, (2, 2), (1, 1), (0, 0)))
