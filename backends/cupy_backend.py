"""The CuPy backend: GPU arrays (imported lazily; the reason is kept when it cannot work)."""

import functools

from backends.base import Backend, BackendUnavailable


@functools.lru_cache(maxsize=None)
def unavailable_reason():
    """Why CuPy cannot run here (no CuPy, no CUDA driver, no device), or ``None``."""
    try:
        import cupy
    except ImportError as error:
        return f"CuPy is not installed ({error}); install batchnet[gpu]"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CUDA raises its own error types for a missing driver
        return f"no usable CUDA driver ({type(error).__name__}: {error})"
    if count == 0:
        return "CuPy found no CUDA device"
    return None


class CupyBackend(Backend):
    name = "cupy"

    def __init__(self):
        reason = unavailable_reason()
        if reason is not None:
            raise BackendUnavailable(f"the cupy backend cannot run here: {reason}")
        raise BackendUnavailable("the cupy backend's kernels are not written yet")
