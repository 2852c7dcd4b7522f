"""CuPy's own type rules and code generation for the backend's kernels, without a GPU.

``cupy.ElementwiseKernel.__call__`` needs a device from its first line, but
the steps it takes before launching do not: deciding the type of every
parameter from the arguments (a ``TypeError`` for a mismatch), and writing the
CUDA source of the kernel. ``generated_source`` runs those steps of CuPy's
code (``cupy._core._kernel``, CuPy 13 and 14) on the arguments that
``CupyBackend`` really passes, recorded on the host, and ``compile_ptx``
compiles the result as CuPy does: its headers, its options, and NVRTC, which
needs no GPU once its library is installed (else nvcc, with the same front
end). What stays unchecked without a GPU is memory and the launch.

The module reads private parts of CuPy; where they differ from what it
expects, ``load_cupy_codegen`` skips the test with the reason.
"""

import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

# cupy._core._kernel's _ArgKind (a cdef enum): what a kernel argument is
ARG_KIND_NDARRAY, ARG_KIND_INDEXER, ARG_KIND_SCALAR = 1, 2, 3


class CupyCodegen:
    """The pieces of CuPy that turn a kernel call into CUDA source and compile it."""

    def __init__(self):
        cupy = pytest.importorskip("cupy", reason="CuPy not installed (the gpu extra)")
        try:
            from cupy._core import _carray, _kernel, _scalar, core
            from cupy.cuda import compiler

            self.headers = "".join(f"#include <{header}>\n" for header in core._cupy_header_list)
            self.options = core.assemble_cupy_compiler_options(())
            self.indexer_type = _carray.Indexer
            self.scalar_type = _scalar.CScalar
            self.arg_info = _kernel._ArgInfo
            self.kernel_code = _kernel._get_elementwise_kernel_code
            self.compiler = compiler
        except (ImportError, AttributeError) as error:
            pytest.skip(f"CuPy {cupy.__version__}'s private code generation is not as expected: {error}")
        self.cupy = cupy

    def generated_source(self, source, arguments):
        """The CUDA source CuPy writes when ``cupy.ElementwiseKernel(*source)`` is called with ``arguments``.

        ``arguments`` are what ``CupyBackend`` passed, as NumPy arrays and scalars.
        As in ``ElementwiseKernel.__call__``: the ``T`` types come from the arrays, a
        scalar takes its parameter's type, contiguous element-wise (non-raw) arrays are
        reduced to one dimension, raw arrays keep theirs.
        """
        kernel = self.cupy.ElementwiseKernel(source.in_params, source.out_params, source.operation,
                                             source.name)
        assert len(arguments) == kernel.nargs, f"{source.name}: {len(arguments)} arguments, {kernel.nargs} parameters"
        inputs, outputs = arguments[:kernel.nin], arguments[kernel.nin:]
        in_types, out_types, type_map = kernel._decide_params_type(
            tuple(a.dtype if isinstance(a, np.ndarray) else None for a in inputs),
            tuple(a.dtype for a in outputs))
        infos = []
        for param, argument, param_type in zip(kernel.in_params + kernel.out_params, arguments,
                                               in_types + out_types):
            if isinstance(argument, np.ndarray):
                assert argument.flags.c_contiguous, f"{source.name}: {param.name} is not contiguous"
                infos.append(self.arg_info(ARG_KIND_NDARRAY, self.cupy.ndarray, argument.dtype,
                                           argument.ndim if param.raw else 1, True, argument.size < 2**31))
            else:
                infos.append(self.arg_info(ARG_KIND_SCALAR, self.scalar_type, np.dtype(param_type), 0, True, True))
        infos.append(self.arg_info(ARG_KIND_INDEXER, self.indexer_type, None, 1, True, True))
        return kernel, self.kernel_code(tuple(infos), type_map, kernel.params, kernel.operation,
                                        kernel.name, kernel.preamble)

    def nvrtc_version(self):
        """NVRTC's ``(major, minor)``, or ``None`` where its library does not load."""
        try:
            return self.compiler._get_nvrtc_version()
        except Exception:  # CuPy raises its own errors for a missing library
            return None

    def compile_ptx(self, code, arch="90"):
        """``(compiler, PTX)`` of ``code`` compiled as CuPy compiles it; a warning is an error.

        CuPy's headers and options, by NVRTC as in CuPy's own compile (less its
        question to the device about its architecture: ``arch`` is given), or
        by nvcc where NVRTC is not installed; neither: the test is skipped.
        """
        source = self.headers + code
        version = self.nvrtc_version()
        if version is not None:
            log = io.StringIO()
            with tempfile.TemporaryDirectory() as folder:
                program = self.compiler._NVRTCProgram(source, str(Path(folder) / "kern.cu"), (), (), method="ptx")
                ptx, _ = program.compile(
                    self.options + (f"-arch=compute_{arch}", "--device-as-default-execution-space"), log)
            assert not log.getvalue().strip(), f"NVRTC warned:\n{log.getvalue()}"
            return f"NVRTC {version[0]}.{version[1]}", _text(ptx)
        if shutil.which("nvcc") is not None:
            ptx = self.compiler.compile_using_nvcc(source, self.options + ("-Werror", "all-warnings"),
                                                   arch=arch, code_type="ptx")
            return "nvcc", _text(ptx)
        pytest.skip("neither NVRTC (nvidia-cuda-nvrtc) nor nvcc is installed to compile the generated source")


def _text(ptx):
    return ptx.decode() if isinstance(ptx, bytes) else ptx
