"""The asv suites in benchmarks/ import, set up and run, so a broken suite fails here.

Each benchmark runs once per implementation (or kernel backend), with every
other parameter at its first value, the smallest case; an implementation
that cannot run here (CuPy without a GPU) skips with the reason its setup
gave. Timings are not checked: speed is asv's business, not a unit test's.
"""

import importlib
import inspect
import itertools
import math
import pkgutil

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
    assert modules == {"benchmarks.bench_kernels", "benchmarks.bench_layers", "benchmarks.bench_training"}


@pytest.mark.parametrize("suite, method, case", CASES)
def test_benchmark_runs_once(suite, method, case):
    instance = suite()
    # one BLAS thread: a loaded machine makes threaded BLAS crawl, and nothing is timed here
    with threadpool_limits(limits=1):
        try:
            instance.setup(*case)
        except NotImplementedError as reason:
            pytest.skip(f"asv would skip this: {reason}")
        result = getattr(instance, method)(*case)
    if method.startswith("track_"):
        assert isinstance(result, float) and math.isfinite(result) and result > 0
    else:
        assert result is None
