"""Shared fixtures: the backends to run every batched test on.

``backend`` runs a test on NumPy with the compiled kernels (when built), on
the pure-NumPy fallback, and on CuPy where a GPU works (skipped with the
reason elsewhere).
"""

import numpy as np
import pytest

import backends
from backends.numpy_backend import NumpyBackend, extension_unavailable_reason


def _make_backend(name):
    if name == "numpy":
        reason = extension_unavailable_reason()
        if reason is not None:
            pytest.skip(f"compiled kernels unavailable: {reason}")
        return NumpyBackend(use_extension=True)
    if name == "numpy-fallback":
        return NumpyBackend(use_extension=False)
    reason = backends.cupy_unavailable_reason()
    if reason is not None:
        pytest.skip(f"cupy backend unavailable: {reason}")
    return backends.get_backend("cupy")


@pytest.fixture(
    params=[
        pytest.param("numpy", id="numpy"),
        pytest.param("numpy-fallback", id="numpy-fallback"),
        pytest.param("cupy", id="cupy", marks=pytest.mark.gpu),
    ]
)
def backend(request):
    """Every backend that can run here; a test receives a Backend instance."""
    return _make_backend(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
