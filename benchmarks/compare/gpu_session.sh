#!/usr/bin/env bash
# Every check and measurement of batchnet's GPU backend, in one command, for a
# session lent a machine with an NVIDIA GPU (the project's H200 has CuPy,
# Cython, pytest, hypothesis, threadpoolctl, tqdm, scikit-image and PyTorch
# with CUDA installed; nothing needs fetching). From the repository root:
#
#   bash benchmarks/compare/gpu_session.sh          # logs go to $OUT (or gpu-results/)
#
# 1. builds the Cython extension (no network: --no-build-isolation, else in place);
# 2. prints `batchnet info` (is the cupy backend available, and if not, why; the GPU);
# 3. `batchnet check --backend cupy`: every batched layer on CuPy against the reference;
# 4. runs the whole test suite, where every `backend` test also runs on CuPy;
# 5. runs python -m benchmarks.compare.gpu_vs_torch: batchnet-CuPy vs PyTorch CUDA, tutorial
#    and standard CNN, batch 128 and 1024, and batchnet on 2 CPU threads; then
#    where batchnet's step of the standard CNN spends its time, part by part.
# Each step has its own time limit so that one that hangs leaves time for the
# next, 580 s in all: one device `run` (at most 600 s) holds the whole script.
# The exit status is the first failing step's.
set -u -o pipefail
out=${OUT:-gpu-results}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
python=${PYTHON:-python3}
status=0

step() {  # step NAME SECONDS COMMAND...: run it, log to $out/NAME.log, keep the first failure
    local name=$1 seconds=$2
    shift 2
    echo "== $name"
    timeout "$seconds" "$@" 2>&1 | tee "$out/$name.log"
    local code=${PIPESTATUS[0]}
    echo "== $name: exit $code"
    if [ "$code" -ne 0 ] && [ "$status" -eq 0 ]; then status=$code; fi
}

export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}  # batchnet and backends from this checkout

build_extension() {
    # pip needs setuptools >= 74.1 for the extension named in pyproject.toml;
    # with an older one, compile it in place by hand (it needs only Python's headers)
    "$python" -m pip install --no-build-isolation --no-deps -e . && return 0
    echo "pip could not build it: compiling backends/_cpu_kernels.pyx in place"
    local suffix include
    suffix=$("$python" -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
    include=$("$python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
    "$python" -m cython -3 backends/_cpu_kernels.pyx -o backends/_cpu_kernels.c &&
        cc -O3 -shared -fPIC -I"$include" backends/_cpu_kernels.c -o "backends/_cpu_kernels$suffix"
}
export python
export -f build_extension

step build 100 bash -c build_extension
step info 30 "$python" -m batchnet info
step check 20 "$python" -m batchnet check --backend cupy
step tests 200 "$python" -m pytest -q -rs -p no:cacheprovider tests/
step benchmark 230 "$python" -m benchmarks.compare.gpu_vs_torch
exit "$status"
