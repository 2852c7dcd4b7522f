"""The asv suites in benchmarks/ import, set up and run, so a broken suite fails here; the
comparison scripts in benchmarks/compare/ run as modules from the repository root.

Each benchmark runs once per implementation (or kernel backend), with every
other parameter at its first value, the smallest case; an implementation
that cannot run here (CuPy without a GPU) skips with the reason its setup
gave. Timings are not checked: speed is asv's business, not a unit test's.
"""

import ast
import importlib
import inspect
import itertools
import math
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

import benchmarks

BENCHMARK_PREFIXES = ("time_", "peakmem_", "track_", "mem_", "timeraw_")
SIZE_AXES = {"case", "shape", "batch_size", "dtype"}


def suite_classes():
    """Every class asv would collect: public, with methods named like benchmarks."""
    for module_info in pkgutil.iter_modules(benchmarks.__path__):
        module = importlib.import_module(f"benchmarks.{module_info.name}")
        for name, suite in vars(module).items():
            if (inspect.isclass(suite) and not name.startswith("_")
                    and benchmark_methods(suite)):
                yield suite


def benchmark_methods(suite):
    return sorted(name for name, _ in inspect.getmembers(suite, inspect.isfunction)
                  if name.startswith(BENCHMARK_PREFIXES))


def smallest_cases(suite):
    """Every implementation (and network) a suite has, each on its smallest sizes.

    Axes that say how big the work is take their first value, the smallest;
    the axes that say which code runs are covered in full.
    """
    names = getattr(suite, "param_names", [])
    axes = [axis[:1] if name in SIZE_AXES else axis for name, axis in zip(names, suite.params)]
    return list(itertools.product(*axes))


CASES = [
    pytest.param(suite, method, case, id=f"{suite.__module__.split('.')[-1]}.{suite.__name__}.{method}{case}")
    for suite in suite_classes()
    for method in benchmark_methods(suite)
    for case in smallest_cases(suite)
]


def test_every_suite_module_contributes_benchmarks():
    modules = {suite.__module__ for suite in suite_classes()}
    assert modules == {"benchmarks.bench_kernels", "benchmarks.bench_layers", "benchmarks.bench_saving",
                       "benchmarks.bench_training"}


@pytest.mark.parametrize("suite, method, case", CASES)
def test_benchmark_runs_once(suite, method, case):
    instance = suite()
    # one BLAS thread: a loaded machine makes threaded BLAS crawl, and nothing is timed here
    with threadpool_limits(limits=1):
        try:
            instance.setup(*case)
        except NotImplementedError as reason:
            pytest.skip(f"asv would skip this: {reason}")
        try:
            result = getattr(instance, method)(*case)
        finally:
            if hasattr(instance, "teardown"):  # as asv calls it: a suite's files go with it
                instance.teardown(*case)
    if method.startswith("track_"):
        assert isinstance(result, float) and math.isfinite(result) and result > 0
    else:
        assert result is None


COMPARE = Path(benchmarks.__file__).parent / "compare"
ROOT = COMPARE.parent.parent


def test_comparison_scripts_edit_no_import_path():
    # run as modules from the repository root, they find batchnet without touching sys.path
    scripts = sorted(COMPARE.glob("*.py"))
    assert {path.name for path in scripts} >= {"compare_torch.py", "gpu_vs_torch.py", "peak_memory.py"}
    for path in scripts:
        edits = [node.lineno for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.Attribute) and node.attr == "path"
                 and isinstance(node.value, ast.Name) and node.value.id == "sys"]
        assert edits == [], f"{path.name} uses sys.path on lines {edits}"


@pytest.mark.parametrize("script", ["compare_torch", "gpu_vs_torch", "peak_memory"])
def test_comparison_script_runs_as_a_module_from_the_repository_root(script):
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-m", f"benchmarks.compare.{script}", "--help"], cwd=ROOT,
                            env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ")


def test_compare_torch_runs_its_batchnet_worker_as_a_module():
    # the worker is started with -m from the same folder: without PYTHONPATH, the repository root
    # on sys.path is what finds batchnet, in the parent and in the worker. Figures are not checked
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-m", "benchmarks.compare.compare_torch", "--networks", "C",
                             "--batch-sizes", "8", "--threads", "1", "--repeats", "1", "--steps-scale", "0.01"],
                            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("C ")]
    assert [row[:4] for row in rows] == [["C", "8", "1", "train"], ["C", "8", "1", "predict"]]
