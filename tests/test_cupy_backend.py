"""The CuPy backend: why it is off when it is, and its CUDA kernels against the NumPy backend.

Without a GPU, the kernel sources of ``backends.cuda_kernels`` still run: they
are compiled with the host C compiler into a loop over the output elements
(the thread index ``i`` of an ElementwiseKernel), and ``CupyBackend``'s own
code drives them with NumPy arrays (``HostCudaBackend``). So the index math,
the argument order and the layouts are checked here against
``NumpyBackend``; on a GPU the same tests run on the real CuPy backend too.
"""

import collections
import copy
import importlib.util
import shutil
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backends
from backends import cuda_kernels
from backends.base import BackendUnavailable, window_geometry
from backends.cupy_backend import CupyBackend, unavailable_reason
from backends.numpy_backend import NumpyBackend
from cupy_codegen import CupyCodegen
from host_cuda import host_function

GPU_REASON = unavailable_reason()
without_gpu = pytest.mark.skipif(GPU_REASON is None, reason="a GPU works here")
TOLERANCE = {np.dtype(np.float32): dict(rtol=1e-5, atol=1e-6),
             np.dtype(np.float64): dict(rtol=1e-10, atol=1e-12)}


# -- why the backend is off ---------------------------------------------------------------

@pytest.fixture
def fresh_reason(monkeypatch):
    """``unavailable_reason`` recomputed inside the test, and again for the tests after it."""
    unavailable_reason.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    unavailable_reason.cache_clear()


def _fake_cupy(device_count=None, driver_error=None, kernel_error=None):
    def get_device_count():
        if driver_error is not None:
            raise driver_error
        return device_count

    def arange(*args, **kwargs):
        raise kernel_error

    runtime = types.SimpleNamespace(getDeviceCount=get_device_count)
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime), arange=arange,
                                 float32=np.float32)


def test_reason_names_missing_cupy_and_the_extra_to_install(fresh_reason):
    fresh_reason.setitem(sys.modules, "cupy", None)
    reason = unavailable_reason()
    assert "CuPy is not installed" in reason
    assert "batchnet[gpu]" in reason


def test_reason_names_a_missing_cuda_driver(fresh_reason):
    error = RuntimeError("cudaErrorInsufficientDriver")
    fresh_reason.setitem(sys.modules, "cupy", _fake_cupy(driver_error=error))
    assert unavailable_reason() == "no usable CUDA driver (RuntimeError: cudaErrorInsufficientDriver)"


def test_reason_names_a_machine_without_a_cuda_device(fresh_reason):
    fresh_reason.setitem(sys.modules, "cupy", _fake_cupy(device_count=0))
    assert unavailable_reason() == "CuPy found no CUDA device"


def test_reason_names_a_device_that_cannot_run_kernels(fresh_reason):
    error = OSError("libnvrtc.so.12: cannot open shared object file")
    fresh_reason.setitem(sys.modules, "cupy", _fake_cupy(device_count=1, kernel_error=error))
    assert unavailable_reason().startswith("CuPy cannot run a kernel on the GPU (OSError: libnvrtc")


def test_reason_is_computed_once_and_kept(fresh_reason):
    fresh_reason.setitem(sys.modules, "cupy", None)
    first = unavailable_reason()
    fresh_reason.setitem(sys.modules, "cupy", _fake_cupy(device_count=0))
    assert unavailable_reason() == first


@without_gpu
def test_reason_is_a_sentence_here():
    assert isinstance(GPU_REASON, str) and len(GPU_REASON) > 10
    assert backends.cupy_unavailable_reason() == GPU_REASON


@without_gpu
def test_asking_for_cupy_raises_with_the_reason():
    with pytest.raises(BackendUnavailable, match="cupy backend cannot run here") as raised:
        backends.get_backend("cupy")
    assert GPU_REASON in str(raised.value)


@without_gpu
def test_auto_falls_back_to_numpy():
    assert backends.get_backend("auto").name == "numpy"
    assert backends.available_backends() == ["numpy"]


def test_an_empty_environment_variable_reads_as_unset(monkeypatch):
    monkeypatch.setenv("BATCHNET_BACKEND", "")
    assert backends.get_backend().name == "numpy"


def test_a_bad_environment_variable_is_named_in_the_error(monkeypatch):
    monkeypatch.setenv("BATCHNET_BACKEND", "Bogus")
    with pytest.raises(ValueError) as raised:
        backends.get_backend()
    assert str(raised.value) == "$BATCHNET_BACKEND: expected numpy, cupy or auto, got 'Bogus'"


def test_a_bad_backend_argument_is_named_as_the_argument(monkeypatch):
    monkeypatch.setenv("BATCHNET_BACKEND", "numpy")
    with pytest.raises(ValueError) as raised:
        backends.get_backend("tpu")
    assert str(raised.value) == "backend: expected numpy, cupy or auto, got 'tpu'"


@without_gpu
def test_environment_variable_asking_for_cupy_raises_with_the_reason(monkeypatch):
    monkeypatch.setenv("BATCHNET_BACKEND", "cupy")
    with pytest.raises(BackendUnavailable) as raised:
        backends.get_backend()
    assert GPU_REASON in str(raised.value)


@without_gpu
def test_network_on_cupy_raises_with_the_reason():
    from batchnet import NeuralNetwork

    with pytest.raises(BackendUnavailable) as raised:
        NeuralNetwork(backend="cupy")
    assert GPU_REASON in str(raised.value)


@pytest.fixture
def gpu_benchmark():
    """``benchmarks/compare/gpu_vs_torch.py`` as a module."""
    return importlib.import_module("benchmarks.compare.gpu_vs_torch")


@without_gpu
def test_gpu_benchmark_says_why_it_cannot_run(gpu_benchmark, capsys):
    assert gpu_benchmark.main([]) == 2
    assert GPU_REASON in capsys.readouterr().err


def test_gpu_benchmark_dry_run_goes_through_every_column(gpu_benchmark, capsys):
    # the script's own code paths, before device time is spent on it
    has_torch = importlib.util.find_spec("torch") is not None
    assert gpu_benchmark.main(["--dry-run"]) == (0 if has_torch else 3)
    output = capsys.readouterr().out
    assert "DRY RUN" in output
    rows = [line.split("|")[1:-1] for line in output.splitlines() if line.startswith("| ") and "CNN" in line]
    assert [(name.strip(), batch.strip()) for name, batch, *_ in rows] == [
        ("tutorial CNN", "16"), ("tutorial CNN", "32"), ("standard CNN", "16"), ("standard CNN", "32")]
    for _, _, gpu_column, torch_column, _, cpu_column, _ in rows:
        assert float(gpu_column.replace(",", "")) > 0 and float(cpu_column.replace(",", "")) > 0
        assert (torch_column.strip() != "n/a") == has_torch
    for batch in (16, 32):
        assert f"standard CNN spends its time, batch {batch} (numpy backend" in output


def test_gpu_benchmark_times_every_part_of_a_training_step(gpu_benchmark):
    parts = gpu_benchmark.step_breakdown("standard", "numpy", batch_size=4, repeats=2)
    names = [part for part, _ in parts]
    assert names[:10] == [f"{index} {kind} forward" for index, kind in enumerate(
        ["ConvolutionalLayer", "ActivationLayer", "MaxPoolingLayer"] * 2 + ["FlattenLayer", "FCLayer",
                                                                             "ActivationLayer", "FCLayer"])]
    assert names[10:12] == ["loss", "loss gradient"]
    assert names[12:] == [f"{index} {name.split()[1]} backward" for index, name in
                          reversed(list(enumerate(names[:10])))] + ["SGD update"]
    assert all(seconds > 0 for _, seconds in parts)


def test_gpu_benchmark_judges_the_targets_on_the_standard_cnn_at_batch_1024(gpu_benchmark):
    def row(network, batch, cupy, torch, cpu):
        return dict(network=network, batch=batch, cupy=cupy, torch=torch, cpu=cpu)

    rows = [row("tutorial", 1024, 1.0, 100.0, 1.0), row("standard", 128, 1.0, 100.0, 1.0),
            row("standard", 1024, 30_000.0, 50_000.0, 1_000.0)]
    assert gpu_benchmark.verdicts(rows).splitlines() == [
        "- within 2× of PyTorch (batchnet / PyTorch >= 0.5): yes (0.60)",
        "- at least 20× batchnet on the CPU: yes (30.0×)"]
    rows[-1].update(cupy=19_000.0, torch=40_000.0)
    assert gpu_benchmark.verdicts(rows).splitlines() == [
        "- within 2× of PyTorch (batchnet / PyTorch >= 0.5): no (0.47)",
        "- at least 20× batchnet on the CPU: no (19.0×)"]


def test_importing_the_backend_module_does_not_import_cupy():
    code = "import sys, backends.cupy_backend, batchnet; print('cupy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# -- the kernel sources, compiled for the CPU (tests/host_cuda.py) --------------------------

@pytest.fixture(scope="module", params=["host", pytest.param("gpu", marks=pytest.mark.gpu)])
def cuda_backend(request):
    """The kernel sources compiled for the CPU, and on a GPU the real CuPy backend."""
    if request.param == "host":
        return request.getfixturevalue("host_cuda_backend")
    if GPU_REASON is not None:
        pytest.skip(f"cupy backend unavailable: {GPU_REASON}")
    return backends.get_backend("cupy")


REFERENCE = NumpyBackend(use_extension=False)


@st.composite
def window_cases(draw):
    """A random batch geometry: shape, window, stride, padding (any padding), dtype, seed."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    height = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), 9))
    width = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), 9))
    shape = (draw(st.integers(1, 3)), height, width, draw(st.integers(1, 4)))
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64])))
    return shape, kernel, stride, padding, dtype, np.random.default_rng(draw(st.integers(0, 2**32)))


def _output_shape(case):
    shape, kernel, stride, padding, _, _ = case
    return (shape[0], *window_geometry(shape, kernel, stride, padding), shape[3])


def _on(backend, method, *arguments):
    """``backend.method(*arguments)`` with array arguments moved there and results back."""
    moved = [backend.asarray(a) if isinstance(a, np.ndarray) else a for a in arguments]
    result = getattr(backend, method)(*moved)
    if isinstance(result, tuple):
        return tuple(backend.to_numpy(r) for r in result)
    return backend.to_numpy(result)


CASES = settings(max_examples=60, deadline=None)


@CASES
@given(case=window_cases())
def test_im2col_kernel_copies_the_same_entries_as_numpy(cuda_backend, case):
    shape, kernel, stride, padding, dtype, rng = case
    images = rng.standard_normal(shape).astype(dtype)
    expected = REFERENCE.im2col(images, kernel, stride, padding)
    actual = _on(cuda_backend, "im2col", images, kernel, stride, padding)
    assert actual.dtype == dtype
    np.testing.assert_array_equal(actual, expected)


@CASES
@given(case=window_cases())
def test_col2im_gather_sums_the_same_windows_as_numpy(cuda_backend, case):
    shape, kernel, stride, padding, dtype, rng = case
    rows, channels = int(np.prod(_output_shape(case)[:3])), kernel[0] * kernel[1] * shape[3]
    columns = rng.standard_normal((rows, channels)).astype(dtype)
    expected = REFERENCE.col2im(columns, shape, kernel, stride, padding)
    actual = _on(cuda_backend, "col2im", columns, shape, kernel, stride, padding)
    assert actual.dtype == dtype and actual.shape == shape
    np.testing.assert_allclose(actual, expected, **TOLERANCE[dtype])


@CASES
@given(case=window_cases())
def test_col2im_kernel_is_the_adjoint_of_im2col(cuda_backend, case):
    # <im2col(x), y> == <x, col2im(y)> for every x, y: an oracle independent of NumPy's col2im
    shape, kernel, stride, padding, _, rng = case
    images = rng.standard_normal(shape)
    rows, channels = int(np.prod(_output_shape(case)[:3])), kernel[0] * kernel[1] * shape[3]
    columns = rng.standard_normal((rows, channels))
    left = np.vdot(_on(cuda_backend, "im2col", images, kernel, stride, padding), columns)
    right = np.vdot(images, _on(cuda_backend, "col2im", columns, shape, kernel, stride, padding))
    assert left == pytest.approx(right, rel=1e-10, abs=1e-10)


@CASES
@given(case=window_cases())
def test_max_pool_kernel_picks_the_same_maximum_and_first_argmax_as_numpy(cuda_backend, case):
    shape, kernel, stride, padding, dtype, rng = case
    images = rng.integers(-2, 3, shape).astype(dtype)  # few values: many ties
    expected_output, expected_argmax = REFERENCE.max_pool(images, kernel, stride, padding)
    output, argmax = _on(cuda_backend, "max_pool", images, kernel, stride, padding)
    assert output.dtype == dtype and argmax.dtype == np.int32
    np.testing.assert_array_equal(output, expected_output)
    np.testing.assert_array_equal(argmax, expected_argmax)


@CASES
@given(case=window_cases())
def test_max_pool_kernel_treats_nan_like_numpy(cuda_backend, case):
    # NumPy's rule: a NaN at a window's first offset is kept, any later NaN is passed over
    shape, kernel, stride, padding, dtype, rng = case
    images = np.where(rng.random(shape) < 0.3, np.nan, rng.standard_normal(shape)).astype(dtype)
    expected_output, expected_argmax = REFERENCE.max_pool(images, kernel, stride, padding)
    output, argmax = _on(cuda_backend, "max_pool", images, kernel, stride, padding)
    np.testing.assert_array_equal(output, expected_output)
    np.testing.assert_array_equal(argmax, expected_argmax)


def test_max_pool_kernel_pads_with_negative_infinity(cuda_backend):
    images = np.full((1, 2, 2, 1), -5.0, dtype=np.float32)
    output, argmax = _on(cuda_backend, "max_pool", images, (2, 2), (1, 1), (1, 1))
    np.testing.assert_array_equal(output, np.full((1, 3, 3, 1), -5.0))
    # the flat offset i*KW + j of each window's first element inside the image
    np.testing.assert_array_equal(argmax[0, :, :, 0], [[3, 2, 2], [1, 0, 0], [1, 0, 0]])


@CASES
@given(case=window_cases())
def test_max_pool_backward_gather_routes_errors_like_numpy(cuda_backend, case):
    shape, kernel, stride, padding, dtype, rng = case
    images = rng.integers(-2, 3, shape).astype(dtype)
    _, argmax = REFERENCE.max_pool(images, kernel, stride, padding)
    output_error = rng.standard_normal(argmax.shape).astype(dtype)
    expected = REFERENCE.max_pool_backward(output_error, argmax, shape, kernel, stride, padding)
    actual = _on(cuda_backend, "max_pool_backward", output_error, argmax, shape, kernel, stride, padding)
    assert actual.dtype == dtype and actual.shape == shape
    np.testing.assert_allclose(actual, expected, **TOLERANCE[dtype])


@CASES
@given(case=window_cases())
def test_avg_pool_kernel_averages_like_numpy_counting_padding(cuda_backend, case):
    shape, kernel, stride, padding, dtype, rng = case
    images = rng.standard_normal(shape).astype(dtype)
    expected = REFERENCE.avg_pool(images, kernel, stride, padding)
    actual = _on(cuda_backend, "avg_pool", images, kernel, stride, padding)
    assert actual.dtype == dtype
    np.testing.assert_allclose(actual, expected, **TOLERANCE[dtype])


@CASES
@given(case=window_cases())
def test_avg_pool_backward_gather_spreads_errors_like_numpy(cuda_backend, case):
    shape, kernel, stride, padding, dtype, rng = case
    output_error = rng.standard_normal(_output_shape(case)).astype(dtype)
    expected = REFERENCE.avg_pool_backward(output_error, shape, kernel, stride, padding)
    actual = _on(cuda_backend, "avg_pool_backward", output_error, shape, kernel, stride, padding)
    assert actual.dtype == dtype and actual.shape == shape
    np.testing.assert_allclose(actual, expected, **TOLERANCE[dtype])


def test_col2im_rejects_columns_of_the_wrong_shape(cuda_backend):
    columns = cuda_backend.asarray(np.zeros((5, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"col2im: expected columns of shape \(4, 4\), got \(5, 4\)"):
        cuda_backend.col2im(columns, (1, 3, 3, 1), (2, 2), (1, 1), (0, 0))


def test_kernel_sources_compile_as_cuda(tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not installed: CUDA syntax checked only on a GPU")
    code = "#include <cstddef>\n"
    for c_type in ("float", "double"):
        code += f"namespace as_{c_type} {{\ntypedef {c_type} T;\n"
        for source in cuda_kernels.KERNELS:
            function = host_function(source)
            # the grid-stride loop of CuPy's generated kernels
            function = function.replace("void ", "__global__ void ", 1).replace(
                "for (ptrdiff_t i = 0; i < size; ++i)",
                "for (ptrdiff_t i = (ptrdiff_t)blockIdx.x * blockDim.x + threadIdx.x; i < size;"
                " i += (ptrdiff_t)blockDim.x * gridDim.x)")
            code += function
        code += "}\n"
    path = tmp_path / "kernels.cu"
    path.write_text(code)
    result = subprocess.run([nvcc, "-ptx", "-arch=compute_80", "-Werror", "all-warnings",
                             "-o", str(tmp_path / "kernels.ptx"), str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


class _RecordingKernel:
    """A host kernel that also keeps every call's arguments."""

    def __init__(self, kernel, calls):
        self.kernel, self.calls = kernel, calls

    def __call__(self, *arguments):
        self.calls.append((self.kernel.source, arguments))
        return self.kernel(*arguments)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cupy_types_and_compiles_every_kernel_as_the_backend_calls_it(host_cuda_backend, dtype):
    # CuPy's own type rules and generated source (tests/cupy_codegen.py) for the
    # arguments CupyBackend passes, compiled as CuPy compiles them: all but the launch
    codegen = CupyCodegen()
    calls = []
    backend = copy.copy(host_cuda_backend)
    backend._compiled = {name: _RecordingKernel(kernel, calls)
                         for name, kernel in host_cuda_backend._compiled.items()}
    images = np.random.default_rng(5).standard_normal((2, 7, 6, 3)).astype(dtype)
    window = dict(stride=(2, 1), padding=(1, 0))
    columns = backend.im2col(images, (3, 2), **window)
    backend.col2im(columns, images.shape, (3, 2), **window)
    output, argmax = backend.max_pool(images, (2, 2), **window)
    backend.max_pool_backward(output, argmax, images.shape, (2, 2), **window)
    backend.avg_pool_backward(backend.avg_pool(images, (3, 3), **window), images.shape, (3, 3), **window)
    assert sorted(source.name for source, _ in calls) == sorted(s.name for s in cuda_kernels.KERNELS)

    code = ""
    for source, arguments in calls:
        kernel, kernel_code = codegen.generated_source(source, arguments)
        assert f"typedef {'float' if dtype == np.float32 else 'double'} T;" in kernel_code
        code += kernel_code
    compiler, ptx = codegen.compile_ptx(code)
    for source in cuda_kernels.KERNELS:
        assert f".entry {source.name}(" in ptx, f"{compiler} made no {source.name}"


def test_a_warning_of_the_cuda_compiler_fails_the_compile_check():
    codegen = CupyCodegen()
    with pytest.raises(Exception, match='"unused"'):
        codegen.compile_ptx('extern "C" __global__ void k(float* x) { int unused = 3; x[threadIdx.x] = 1.0f; }')


def test_cupy_rejects_an_argument_of_the_wrong_type():
    # the check above means something: CuPy's rules refuse what the kernel does not declare
    codegen = CupyCodegen()
    images = np.zeros((1, 4, 4, 1), dtype=np.float32)
    output = np.zeros((1, 2, 2, 1), dtype=np.float32)
    geometry = cuda_kernels.geometry_arguments(images.shape, (2, 2), (2, 2), (2, 2), (0, 0))
    arguments = (images, -np.inf, *geometry, output, output.astype(np.int64))
    with pytest.raises(TypeError, match="argmax"):
        codegen.generated_source(cuda_kernels.MAX_POOL, arguments)


def test_cupy_backend_describes_its_device_from_cudas_answers():
    # what batchnet info shows for the GPU, from CuPy's calls (faked here, real below)
    device = types.SimpleNamespace(id=0, mem_info=(100 * 2**30, 141 * 2**30))
    runtime = types.SimpleNamespace(
        getDeviceProperties=lambda index: {"name": b"NVIDIA H200", "major": 9, "minor": 0} if index == 0 else {},
        runtimeGetVersion=lambda: 13000)
    backend = CupyBackend.__new__(CupyBackend)
    backend.xp = types.SimpleNamespace(
        cuda=types.SimpleNamespace(Device=lambda: device, runtime=runtime), __version__="14.2.0")
    assert backend.device() == {"name": "NVIDIA H200", "compute capability": "9.0",
                                "memory": "141.0 GiB, 100.0 GiB free", "cuda runtime": "13.0",
                                "cupy": "14.2.0"}


# -- on a GPU only --------------------------------------------------------------------------

@pytest.fixture
def cupy_backend():
    if GPU_REASON is not None:
        pytest.skip(f"cupy backend unavailable: {GPU_REASON}")
    return backends.get_backend("cupy")


@pytest.mark.gpu
def test_batchnet_info_names_the_gpu(cupy_backend):
    from batchnet.environment import config_report

    device = cupy_backend.device()
    assert device["name"] and device["cupy"] == cupy_backend.xp.__version__
    reported = config_report()["backends"]["cupy"]["device"]
    del device["memory"], reported["memory"]  # free memory changes from call to call
    assert reported == device


@pytest.mark.gpu
def test_cupy_backend_reports_its_cuda_kernels(cupy_backend):
    kernels = cupy_backend.kernels()
    assert set(kernels) >= {"im2col", "col2im", "max_pool", "max_pool_backward"}
    assert all(name.startswith("cuda") for name in kernels.values())


@pytest.mark.gpu
def test_cupy_arrays_round_trip_through_the_device(cupy_backend):
    host = np.arange(12, dtype=np.float64).reshape(3, 4)
    device = cupy_backend.asarray(host, dtype=np.float32)
    assert backends.is_device_array(device) and device.dtype == np.float32
    np.testing.assert_array_equal(cupy_backend.to_numpy(device), host.astype(np.float32))


def test_is_device_array_says_where_each_backends_arrays_live(backend):
    array = backend.asarray(np.ones((2, 3), dtype=np.float32))
    assert backends.is_device_array(array) == backend.on_device
    assert backends.backend_for(array).on_device == backend.on_device


@pytest.mark.parametrize("value", [np.ones(3), np.float32(1.0), [1.0, 2.0], 1.0, None],
                         ids=["ndarray", "numpy-scalar", "list", "float", "none"])
def test_is_device_array_takes_no_host_value_for_a_device_array(value):
    assert not backends.is_device_array(value)


@pytest.mark.gpu
def test_cupy_weights_set_by_hand_on_a_network_that_never_ran_are_saved(cupy_backend, tmp_path):
    from batchnet import FCLayer, NeuralNetwork, load_model, save_model

    weights = np.arange(12, dtype=np.float32).reshape(4, 3)
    layer = FCLayer(3)
    layer.weights = cupy_backend.asarray(weights, dtype=np.float32)
    layer.bias = cupy_backend.asarray(np.ones(3), dtype=np.float32)
    save_model(NeuralNetwork(backend=cupy_backend).add(layer), tmp_path / "model.npz")
    np.testing.assert_array_equal(load_model(tmp_path / "model.npz", backend="numpy").layers[0].weights, weights)


def _small_cnn(backend, dtype):
    from batchnet import (ActivationLayer, ConvolutionalLayer, FCLayer, FlattenLayer,
                          MaxPoolingLayer, NeuralNetwork, relu, relu_prime,
                          softmax_cross_entropy, softmax_cross_entropy_prime)

    network = NeuralNetwork(backend=backend, dtype=dtype)
    for layer in (ConvolutionalLayer(4, (3, 3), padding=1), ActivationLayer(relu, relu_prime),
                  MaxPoolingLayer((2, 2), stride=2), ConvolutionalLayer(6, (3, 3), stride=2),
                  FlattenLayer(), FCLayer(10)):
        network.add(layer)
    return network.use(softmax_cross_entropy, softmax_cross_entropy_prime)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-4)])
def test_training_on_cupy_matches_numpy_from_the_same_seed(cuda_backend, dtype, rtol):
    # on the host: NeuralNetwork.fit, predict and the layers through CupyBackend's code
    from batchnet import one_hot

    rng = np.random.default_rng(7)
    x = rng.random((48, 12, 12, 1))
    y = one_hot(rng.integers(0, 10, 48), 10)
    predictions = {}
    for name, backend in (("numpy", "numpy"), ("cupy", cuda_backend)):
        network = _small_cnn(backend, dtype)
        network.fit(x, y, epochs=2, learning_rate=0.05, batch_size=16, seed=3, verbose=0)
        predictions[name] = network.predict(x)
    assert network.backend is cuda_backend
    np.testing.assert_allclose(predictions["cupy"], predictions["numpy"], rtol=rtol, atol=rtol)


def _counting_transfers(backend):
    """A copy of ``backend`` counting its host-to-device (``asarray``) and device-to-host (``to_numpy``) copies."""
    counting = copy.copy(backend)
    counting.transfers = collections.Counter()
    for method in ("asarray", "to_numpy"):
        def counted(*arguments, _method=method, **keywords):
            counting.transfers[_method] += 1
            return getattr(backend, _method)(*arguments, **keywords)
        setattr(counting, method, counted)
    return counting


@pytest.mark.gpu
def test_fit_moves_data_to_the_device_once_and_metrics_back_once_per_epoch(cupy_backend):
    # on the CPU, test_device_transfers.py counts these and the syncs for every layer
    from batchnet import one_hot

    backend = _counting_transfers(cupy_backend)
    rng = np.random.default_rng(1)
    x, y = rng.random((72, 12, 12, 1)), one_hot(rng.integers(0, 10, 72), 10)
    network = _small_cnn(backend, "float32")
    network.fit(x[:8], y[:8], epochs=1, learning_rate=0.01, batch_size=8, verbose=0)  # uploads the weights
    backend.transfers.clear()
    epochs = 3
    # 8 held out, 64 trained on: 8 steps an epoch
    network.fit(x, y, epochs=epochs, learning_rate=0.01, batch_size=8, validation_split=1 / 9, verbose=0)
    assert backend.transfers == {"asarray": 2 + 2 + epochs,  # x and y, validation x and y, each epoch's order
                                 "to_numpy": 2 * epochs}      # each epoch's loss and accuracy, and validation's
    backend.transfers.clear()
    network.predict(x, batch_size=16)
    assert backend.transfers == {"asarray": 5, "to_numpy": 1}  # a batch at a time up, all outputs down at once


@pytest.mark.gpu
def test_a_training_step_on_cupy_never_waits_for_the_device(cupy_backend):
    import cupyx

    if not hasattr(cupyx, "allow_synchronize"):
        pytest.skip("this CuPy has no cupyx.allow_synchronize to detect device-to-host copies")
    from batchnet import one_hot
    from batchnet.optimizers import SGD

    rng = np.random.default_rng(0)
    network = _small_cnn("cupy", "float32")
    x = cupy_backend.asarray(rng.random((16, 12, 12, 1)), dtype=np.float32)
    y = cupy_backend.asarray(one_hot(rng.integers(0, 10, 16), 10), dtype=np.float32)
    network.predict(rng.random((2, 12, 12, 1)))  # draws the weights on the host, uploads them
    optimizer = SGD(0.01)
    with warnings.catch_warnings():
        # CuPy warns (a plain UserWarning) that allow_synchronize is deprecated
        warnings.filterwarnings("ignore", message="cupyx.allow_synchronize will be removed")
        with cupyx.allow_synchronize(False):
            output = network.forward(x)
            total_loss = network.loss(y, output) * len(x)
            network.backward(network.loss_prime(y, output))
            optimizer.step(network.layers)
    assert np.isfinite(float(total_loss))


def test_im2col_kernel_writes_into_a_fitting_out_buffer_and_ignores_another(cuda_backend):
    images = cuda_backend.asarray(np.random.default_rng(3).standard_normal((2, 5, 6, 3)).astype(np.float32))
    first = cuda_backend.im2col(images, (3, 2), (1, 2), (1, 0))
    second = cuda_backend.im2col(images * 2, (3, 2), (1, 2), (1, 0), out=first)
    assert second is first
    np.testing.assert_array_equal(cuda_backend.to_numpy(second),
                                  REFERENCE.im2col(cuda_backend.to_numpy(images) * 2, (3, 2), (1, 2), (1, 0)))
    wrong = cuda_backend.xp.empty((1, 1), dtype=np.float32)
    assert cuda_backend.im2col(images, (3, 2), (1, 2), (1, 0), out=wrong) is not wrong
