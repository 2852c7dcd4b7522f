"""The CUDA kernel sources of ``backends.cuda_kernels``, compiled for the CPU.

Each ElementwiseKernel source becomes a C function looping ``i`` over the
output elements (as CuPy's threads do), compiled with the host C compiler;
``HostCudaBackend`` is ``CupyBackend``'s own code driving those functions with
NumPy arrays. Without a GPU this runs the kernels' index math, argument order
and layouts, and the backend's Python, everywhere the real CuPy backend would
run; what it cannot check is CuPy itself (its type inference, its memory).
"""

import ctypes
import os
import shutil
import subprocess

import numpy as np
import pytest

from backends import cuda_kernels
from backends.cupy_backend import CupyBackend

C_TYPES = {"T": "T", "int32": "int"}
CTYPES_SCALARS = {np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double}


def _params(text):
    """``"raw T images, int32 height"`` -> ``[(is_raw, type, name), ...]``."""
    params = []
    for param in text.split(","):
        words = param.split()
        params.append((words[0] == "raw", words[-2], words[-1]))
    return params


def host_function(source):
    """``source`` as a C function looping ``i`` over the output elements, as CuPy's threads do."""
    inputs = [f"const {C_TYPES[kind]}* {name}" if raw else f"{C_TYPES[kind]} {name}"
              for raw, kind, name in _params(source.in_params)]
    outputs = _params(source.out_params)
    arguments = ", ".join(["ptrdiff_t size"] + inputs
                          + [f"{C_TYPES[kind]}* {name}__elements" for _, kind, name in outputs])
    # an output parameter names this thread's element, as in an ElementwiseKernel
    define = "".join(f"#define {name} ({name}__elements[i])\n" for _, _, name in outputs)
    undefine = "".join(f"#undef {name}\n" for _, _, name in outputs)
    return (f"void {source.name}({arguments}) {{\n"
            f"for (ptrdiff_t i = 0; i < size; ++i) {{\n{define}{{{source.operation}}}\n{undefine}}}\n}}\n")


class HostKernel:
    """Calls like an ElementwiseKernel: ``kernel(*inputs, *outputs)``, with NumPy arrays."""

    def __init__(self, source, libraries):
        self.source = source
        self.inputs = _params(source.in_params)
        self.outputs = _params(source.out_params)
        self.libraries = libraries

    def __call__(self, *arguments):
        # outputs are passed like raw arrays: a pointer to every thread's element
        params = self.inputs + [(True, kind, name) for _, kind, name in self.outputs]
        assert len(arguments) == len(params), f"{self.source.name}: wrong argument count"
        dtype = next(argument.dtype for argument, (raw, kind, _) in zip(arguments, params)
                     if raw and kind == "T")
        converted = []
        for argument, (raw, kind, name) in zip(arguments, params):
            if raw:
                expected = dtype if kind == "T" else np.dtype(np.int32)
                assert argument.dtype == expected, f"{self.source.name}: {name} is {argument.dtype}"
                assert argument.flags.c_contiguous, f"{self.source.name}: {name} is not contiguous"
                converted.append(argument.view(np.ndarray).ctypes.data_as(ctypes.c_void_p))
            else:
                converted.append(CTYPES_SCALARS[dtype](argument) if kind == "T" else ctypes.c_int(argument))
        outputs = arguments[len(self.inputs):]
        assert all(output.shape == outputs[0].shape for output in outputs)
        function = getattr(self.libraries[dtype], self.source.name)
        function(ctypes.c_ssize_t(outputs[0].size), *converted)


class HostCudaBackend(CupyBackend):
    """``CupyBackend``'s code on NumPy arrays, running the CUDA kernel sources compiled for the CPU."""

    name = "cupy-kernels-on-host"
    on_device = False  # its arrays are NumPy's, on the host

    def __init__(self, libraries):
        self.xp = np
        self.libraries = libraries
        self._compiled = {source.name: HostKernel(source, libraries) for source in cuda_kernels.KERNELS}

    def to_numpy(self, array):
        return np.asarray(array)

    def synchronize(self):
        pass


def _compile_for_host(directory, dtype):
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        pytest.skip("no C compiler to run the CUDA kernel sources on the CPU")
    c_type = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}[np.dtype(dtype)]
    code = f"#include <stddef.h>\ntypedef {c_type} T;\n" + "".join(
        host_function(source) for source in cuda_kernels.KERNELS)
    source_path = directory / f"kernels_{c_type}.c"
    library_path = directory / f"kernels_{c_type}.so"
    source_path.write_text(code)
    subprocess.run([compiler, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                    "-o", str(library_path), str(source_path)], check=True, capture_output=True)
    return ctypes.CDLL(str(library_path))


def host_cuda_backend(directory):
    """A ``HostCudaBackend`` with the kernels compiled into ``directory`` (skips without a C compiler)."""
    return HostCudaBackend({np.dtype(dtype): _compile_for_host(directory, dtype)
                            for dtype in (np.float32, np.float64)})
