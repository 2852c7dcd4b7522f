"""Array backends for batchnet: NumPy on the CPU, CuPy on the GPU.

A backend bundles an array module (``xp``) with the few kernels that a plain
array API does not offer well: im2col / col2im and the pooling scatters.
Nothing here knows about neural networks.
"""

import os

from backends.base import Backend, BackendUnavailable
from backends.numpy_backend import NumpyBackend

BACKEND_NAMES = ("numpy", "cupy")

_instances = {}


def get_backend(name=None):
    """Return the backend called ``name``.

    ``None`` reads ``$BATCHNET_BACKEND`` and falls back to ``"numpy"`` when it is unset or empty;
    ``"auto"`` is CuPy when a GPU works, else NumPy. A bad name is a ValueError
    that says where it came from (the argument or the variable). Asking for
    CuPy where it cannot work raises :class:`BackendUnavailable` with the reason.
    """
    if isinstance(name, Backend):
        return name
    source = "backend"
    if name is None:
        name = os.environ.get("BATCHNET_BACKEND") or "numpy"  # set but empty reads as unset, as shells mean it
        source = "$BATCHNET_BACKEND"
    if not isinstance(name, str):
        raise TypeError(f"backend: expected a name in {BACKEND_NAMES + ('auto',)}, got {name!r}")
    chosen = name.lower()
    if chosen == "auto":
        chosen = "cupy" if cupy_unavailable_reason() is None else "numpy"
    if chosen not in BACKEND_NAMES:
        raise ValueError(f"{source}: expected numpy, cupy or auto, got {name!r}")
    if chosen not in _instances:
        if chosen == "numpy":
            _instances[chosen] = NumpyBackend()
        else:
            from backends.cupy_backend import CupyBackend

            _instances[chosen] = CupyBackend()
    return _instances[chosen]


def cupy_unavailable_reason():
    """Why the CuPy backend cannot run here, or ``None`` when it can."""
    from backends.cupy_backend import unavailable_reason

    return unavailable_reason()


def available_backends():
    """Names of the backends that work on this machine."""
    names = ["numpy"]
    if cupy_unavailable_reason() is None:
        names.append("cupy")
    return names


def is_device_array(array):
    """Whether ``array`` is a GPU (CuPy) array: the one test for it in batchnet."""
    return type(array).__module__.startswith("cupy")


def backend_for(array):
    """The backend whose array type ``array`` is (NumPy for anything else)."""
    return get_backend("cupy" if is_device_array(array) else "numpy")


__all__ = [
    "Backend",
    "BackendUnavailable",
    "BACKEND_NAMES",
    "available_backends",
    "backend_for",
    "cupy_unavailable_reason",
    "get_backend",
    "is_device_array",
]
