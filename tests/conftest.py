"""Shared fixtures: the backends to run every batched test on.

``backend`` runs a test on NumPy with the compiled kernels (when built), on
the pure-NumPy fallback, on ``CupyBackend``'s code with its CUDA kernel
sources compiled for the CPU over arrays as strict as CuPy's about the host
(``cupy-host``, see ``host_cuda.py`` and ``strict_device.py``: what runs on a
GPU, but for CuPy itself), and on CuPy where a GPU works (skipped with the
reason elsewhere).
"""

import numpy as np
import pytest

import backends
from backends.numpy_backend import NumpyBackend, extension_unavailable_reason
from host_cuda import host_cuda_backend as make_host_cuda_backend
from strict_device import StrictDeviceBackend

# the command-line tests' fixtures (data_dir, saved_model, offline), for every test_cli_*.py
pytest_plugins = ["cli_data"]


@pytest.fixture(scope="session")
def host_cuda_backend(tmp_path_factory):
    """``CupyBackend``'s code running its CUDA kernel sources compiled for the CPU (host_cuda.py)."""
    return make_host_cuda_backend(tmp_path_factory.mktemp("cuda_kernels_on_host"))


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
        pytest.param("cupy-host", id="cupy-host"),
        pytest.param("cupy", id="cupy", marks=pytest.mark.gpu),
    ]
)
def backend(request):
    """Every backend that can run here; a test receives a Backend instance."""
    if request.param == "cupy-host":
        return request.getfixturevalue("strict_device")
    return _make_backend(request.param)


@pytest.fixture
def strict_device(host_cuda_backend, monkeypatch):
    """The pretend GPU of ``strict_device.py``, standing in for the cupy backend (so ``backend_for`` finds it)."""
    backend = StrictDeviceBackend(host_cuda_backend.libraries)
    monkeypatch.setitem(backends._instances, "cupy", backend)
    return backend


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
