"""batchnet works without its compiled extension: disabled by environment, or not importable.

Each case runs in a fresh interpreter, because the extension is looked up once,
when ``backends.numpy_backend`` is first imported.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

# Run first in the child: make ``backends._cpu_kernels`` unimportable in two different ways.
BLOCK_BY_SYS_MODULES = "import sys; sys.modules['backends._cpu_kernels'] = None\n"
BLOCK_BY_META_PATH = textwrap.dedent("""
    import sys

    class BlockCompiledKernels:
        def find_spec(self, name, path=None, target=None):
            if name == "backends._cpu_kernels":
                raise ImportError("blocked by the test")
            return None

    sys.meta_path.insert(0, BlockCompiledKernels())
""")

TRAIN_TINY_CONV_NET = textwrap.dedent("""
    import json
    import numpy as np
    import backends
    import batchnet
    from backends.numpy_backend import extension_unavailable_reason

    rng = np.random.default_rng(0)
    x = rng.random((12, 6, 6, 1)).astype(np.float32)
    y = batchnet.one_hot(rng.integers(0, 2, 12), 2)
    net = (batchnet.NeuralNetwork()
           .add(batchnet.ConvolutionalLayer(2, (3, 3), padding=1))
           .add(batchnet.MaxPoolingLayer((2, 2)))
           .add(batchnet.FlattenLayer())
           .add(batchnet.FCLayer(2))
           .use(batchnet.mse, batchnet.mse_prime)
           .fit(x, y, epochs=5, learning_rate=0.05, seed=0, verbose=0))
    print(json.dumps({
        "kernels": backends.get_backend("numpy").kernels(),
        "reason": extension_unavailable_reason(),
        "losses": net.history.history["loss"],
    }))
""")

CASES = {
    "disabled-by-environment": ("", {"BATCHNET_DISABLE_EXT": "1"}),
    "blocked-in-sys-modules": (BLOCK_BY_SYS_MODULES, {}),
    "blocked-by-meta-path-hook": (BLOCK_BY_META_PATH, {}),
}


def run_python(source, extra_env):
    env = {key: value for key, value in os.environ.items()
           if key not in ("BATCHNET_DISABLE_EXT", "BATCHNET_BACKEND")}
    env.update(extra_env)
    return subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


@pytest.mark.parametrize("case", CASES)
def test_import_prints_nothing_without_the_extension(case):
    prelude, env = CASES[case]
    result = run_python(prelude + "import batchnet\nimport backends\n", env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


@pytest.mark.parametrize("case", CASES)
def test_a_tiny_net_trains_on_the_numpy_fallback(case):
    prelude, env = CASES[case]
    result = run_python(prelude + TRAIN_TINY_CONV_NET, env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kernels"]["col2im"] == "numpy (strided slice-add)"
    assert report["kernels"]["max_pool_backward"] == "numpy (strided slice-add)"
    assert report["reason"] is not None
    assert report["losses"][-1] < report["losses"][0]


def test_the_reason_says_why_the_extension_is_off():
    disabled = run_python(TRAIN_TINY_CONV_NET, {"BATCHNET_DISABLE_EXT": "1"})
    blocked = run_python(BLOCK_BY_SYS_MODULES + TRAIN_TINY_CONV_NET, {})
    assert json.loads(disabled.stdout)["reason"] == "disabled by BATCHNET_DISABLE_EXT"
    assert json.loads(blocked.stdout)["reason"].startswith("backends._cpu_kernels is not built")


def test_asking_for_the_missing_extension_explains_how_to_build_it():
    source = BLOCK_BY_SYS_MODULES + textwrap.dedent("""
        from backends.numpy_backend import NumpyBackend
        try:
            NumpyBackend(use_extension=True)
        except ImportError as error:
            print(error)
    """)
    result = run_python(source, {})
    assert result.returncode == 0, result.stderr
    assert "pip install -e ." in result.stdout
