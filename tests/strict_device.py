"""A pretend GPU on the CPU, as strict as CuPy about what crosses to the host.

``StrictDeviceBackend`` is ``CupyBackend``'s own code (its kernels compiled
for the CPU, as in ``host_cuda.py``) over ``DeviceArray``: a NumPy array that
behaves as a CuPy array does where it matters here:

- mixing it with a host (NumPy) array in an operation raises ``TypeError``, as
  CuPy does, so a host array that slipped into device code is found;
- reductions give 0-d device arrays, not host scalars, as CuPy's do;
- each read of a value on the host (``float``, ``int``, ``bool``, ``item``,
  ``tolist``) is counted as a sync, and ``asarray`` of host data and
  ``asnumpy`` as transfers, so tests can say how often a training step waits
  for the device or copies between host and device.

Where CuPy is installed (it imports without a GPU), ``StrictXp`` also takes
only the functions CuPy has, with the keywords CuPy's take, and
``DeviceArray`` refuses the array attributes CuPy's arrays lack (``resize``,
``ctypes``, ...), so NumPy-only code fails here rather than on the GPU.

What it cannot catch: ``np.asarray`` of a device array (NumPy hands a view of
a subclass through without asking; CuPy raises), keywords of array methods,
and anything about CUDA.
"""

import collections
import inspect

import numpy as np

try:
    import cupy
except ImportError:  # without CuPy, NumPy's functions stand in unchecked
    cupy = None

from host_cuda import HostCudaBackend


class DeviceArray(np.ndarray):
    """An array that lives on the pretend device (see the module docstring)."""

    events = collections.Counter()  # "sync", "upload", "download": shared by every DeviceArray

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = _to_plain(inputs, ufunc.__name__)
        if "out" in kwargs:
            kwargs["out"] = _to_plain(kwargs["out"], ufunc.__name__)
        return _to_device(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, function, types_, arguments, keywords):
        name = function.__name__
        return _to_device(function(*_to_plain(arguments, name), **_to_plain(keywords, name)))

    def __array_wrap__(self, array, context=None, return_scalar=False):
        # results of methods computed in C (argmax, astype, ...) stay on the device
        return _to_device(np.asarray(array))

    def _synced(self, method, *arguments):
        DeviceArray.events["sync"] += 1
        return getattr(self.view(np.ndarray), method)(*arguments)

    def __float__(self):
        return self._synced("__float__")

    def __int__(self):
        return self._synced("__int__")

    def __index__(self):
        return self._synced("__index__")

    def __bool__(self):
        return self._synced("__bool__")

    def item(self, *arguments):
        return self._synced("item", *arguments)

    def tolist(self):
        return self._synced("tolist")


# "cupy..." as the module: backends.is_device_array, the one test for a GPU array, takes a
# DeviceArray for one, and backend_for for the GPU backend's
DeviceArray.__module__ = "cupy_on_the_host"


def _numpy_only(name):
    def refuse(self):
        raise AttributeError(f"cupy.ndarray has no {name!r}: device code may use only what CuPy provides")
    return property(refuse)


if cupy is not None:  # the public attributes of NumPy's arrays that CuPy's lack: resize, ctypes, ...
    for _name in set(dir(np.ndarray)) - set(dir(cupy.ndarray)):
        if not _name.startswith("_"):
            setattr(DeviceArray, _name, _numpy_only(_name))


def _to_plain(value, where):
    """``value`` with every DeviceArray as a plain view; a host array among them is CuPy's TypeError."""
    if isinstance(value, DeviceArray):
        return value.view(np.ndarray)
    if isinstance(value, np.ndarray):
        raise TypeError(f"{where}: a host (NumPy) array among device arrays, shape {value.shape}")
    if isinstance(value, (tuple, list)):
        return type(value)(_to_plain(item, where) for item in value)
    if isinstance(value, dict):
        return {key: _to_plain(item, where) for key, item in value.items()}
    return value


def _to_device(value):
    """Results back on the device; a host scalar becomes a 0-d device array, as in CuPy."""
    if isinstance(value, tuple):
        return tuple(_to_device(item) for item in value)
    if isinstance(value, np.ndarray):
        return value.view(DeviceArray)
    if isinstance(value, np.generic):
        return np.asarray(value).view(DeviceArray)
    return value


# CuPy's ufuncs have no inspectable signature; their keywords, from their docstrings
_CUPY_UFUNC_KEYWORDS = {"out", "casting", "dtype"}


def _cupy_call_checker(name):
    """A check that ``cupy.<name>`` exists and would take these arguments (no check without CuPy)."""
    if cupy is None:
        return lambda arguments, keywords: None
    cupy_function = getattr(cupy, name)
    if isinstance(cupy_function, cupy.ufunc):
        def check(arguments, keywords):
            unknown = set(keywords) - _CUPY_UFUNC_KEYWORDS
            if unknown:
                raise TypeError(f"cupy.{name} takes no keyword {sorted(unknown)} (it takes {sorted(_CUPY_UFUNC_KEYWORDS)})")
        return check
    signature = inspect.signature(cupy_function)

    def check(arguments, keywords):
        try:
            signature.bind(*arguments, **keywords)
        except TypeError as error:
            raise TypeError(f"cupy.{name}{signature} cannot take these arguments: {error}") from None
    return check


class StrictXp:
    """A stand-in for the ``cupy`` module: NumPy's functions, taking and giving DeviceArrays."""

    ndarray = DeviceArray

    def __getattr__(self, name):
        if cupy is not None and not hasattr(cupy, name):
            raise AttributeError(f"cupy has no {name!r}: device code may use only what CuPy provides")
        attribute = getattr(np, name)
        if not callable(attribute) or isinstance(attribute, type):
            return attribute  # dtypes, constants, np.float32 and the like
        check_cupy_call = _cupy_call_checker(name)

        def on_device(*arguments, **keywords):
            check_cupy_call(arguments, keywords)
            return _to_device(attribute(*_to_plain(arguments, name), **_to_plain(keywords, name)))

        return on_device

    @staticmethod
    def asarray(array, dtype=None):
        if not isinstance(array, DeviceArray):
            DeviceArray.events["upload"] += 1
            return np.array(array, dtype=dtype).view(DeviceArray)
        return array if dtype is None or array.dtype == dtype else array.astype(dtype)

    @staticmethod
    def asnumpy(array):
        DeviceArray.events["download"] += 1
        return np.array(array.view(np.ndarray))

    @staticmethod
    def ascontiguousarray(array):
        return np.ascontiguousarray(array.view(np.ndarray)).view(DeviceArray)


class StrictDeviceBackend(HostCudaBackend):
    """``CupyBackend``'s code on DeviceArrays; ``events`` counts syncs and transfers."""

    name = "cupy"  # what the layers see, so that backend_for's answer is this backend
    on_device = True  # DeviceArrays stand for device memory: reading one on the host is a transfer

    def __init__(self, libraries):
        super().__init__(libraries)
        self.xp = StrictXp()
        self.events = DeviceArray.events

    def to_numpy(self, array):
        return self.xp.asnumpy(array)
