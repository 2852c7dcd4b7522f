"""The peer comparison, scaling and batch-1 scripts of benchmarks/compare/ run every code path (--dry-run).

No peer library is needed: batchnet alone goes through the workers, the
alternation, the parameter-count check and the table; a peer Python that lacks
its library is reported and skipped. Set BATCHNET_TORCH_PYTHON,
BATCHNET_TENSORFLOW_PYTHON or BATCHNET_JAX_PYTHON to a venv's Python to run
that peer too. Nothing here is timed: the figures are only checked to be
positive and the memory peaks ordered.
"""

import csv
import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPARE = ROOT / "benchmarks" / "compare"
PEERS = ("torch", "tensorflow", "jax")


def run_script(name, *arguments):
    # as the README runs them: as modules from the repository root, without PYTHONPATH
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    module = "benchmarks.compare." + name.removesuffix(".py")
    result = subprocess.run([sys.executable, "-m", module, *arguments], capture_output=True,
                            text=True, env=environment, cwd=ROOT, timeout=600)
    assert result.returncode == 0, f"{name} {arguments} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def load(name):
    # the repository root is on sys.path in the tests (pyproject's pythonpath)
    return importlib.import_module(f"benchmarks.compare.{name}")


def table_rows(output):
    return [line.split() for line in output.splitlines() if re.match(r"^[ABC] +\d", line)]


def test_compare_peers_dry_run_prints_every_network_and_task_for_batchnet():
    rows = table_rows(run_script("compare_peers.py", "--dry-run"))
    assert [(row[0], row[3]) for row in rows] == [(net, task) for net in "ABC" for task in ("train", "predict")]
    assert all(float(row[4]) > 0 for row in rows)


def test_compare_peers_skips_a_peer_whose_python_lacks_it():
    if importlib.util.find_spec("jax") is not None:
        pytest.skip("this Python has jax")
    output = run_script("compare_peers.py", "--dry-run", "--networks", "C", "--jax", sys.executable)
    assert "jax: skipped" in output and "cannot run jax" in output
    assert all(len(row) == 5 for row in table_rows(output))  # batchnet's column alone


@pytest.mark.parametrize("peer", PEERS)
def test_compare_peers_dry_run_with_an_installed_peer(peer):
    python = os.environ.get(f"BATCHNET_{peer.upper()}_PYTHON")
    if not python:
        pytest.skip(f"BATCHNET_{peer.upper()}_PYTHON is not set")
    output = run_script("compare_peers.py", "--dry-run", f"--{peer}", python)
    rows = table_rows(output)
    assert len(rows) == 6 and all(len(row) == 7 and float(row[5]) > 0 for row in rows), output


def test_parameter_counts_are_those_of_batchnets_models():
    from batchnet import models

    counts = load("peer_common").PARAMETER_COUNTS
    x = np.zeros((1, 28, 28, 1), dtype=np.float32)
    for name, builder in (("A", models.tutorial_cnn), ("B", models.standard_cnn), ("C", models.tutorial_mlp)):
        network = builder()
        network.predict(x)
        assert sum(layer.weights.size + layer.bias.size for layer in network.layers
                   if getattr(layer, "weights", None) is not None) == counts[name], name


def test_jax_runner_parameters_have_batchnets_shapes():
    from batchnet import models

    runner_jax = load("runner_jax")
    x = np.zeros((1, 28, 28, 1), dtype=np.float32)
    for name, builder in (("A", models.tutorial_cnn), ("B", models.standard_cnn), ("C", models.tutorial_mlp)):
        network = builder()
        network.predict(x)
        theirs = [(w.shape, b.shape) for w, b in runner_jax.initial_parameters(name, np.random.default_rng(0))]
        ours = [(layer.weights.shape, layer.bias.shape) for layer in network.layers
                if getattr(layer, "weights", None) is not None]
        assert theirs == ours, name


def test_log_log_slope_recovers_a_power_law():
    scaling = load("scaling")
    xs = np.array([1, 2, 4, 8, 16])
    assert scaling.log_log_slope(xs, 3.0 * xs**-0.75) == pytest.approx(-0.75)


def test_scaling_dry_run_writes_a_csv_and_a_png(tmp_path):
    output = run_script("scaling.py", "--dry-run", "--output", str(tmp_path))
    assert "Per-sample time falls with the batch as batch^" in output and "pixels^" in output
    with open(tmp_path / "scaling.csv") as file:
        rows = list(csv.DictReader(file))
    assert [(row["sweep"], row["batch_size"], row["image_size"]) for row in rows] == [
        ("batch", "1", "28"), ("batch", "4", "28"), ("image", "4", "28"), ("image", "4", "32")]
    for row in rows:
        assert float(row["train_per_s"]) > 0 and float(row["predict_per_s"]) > 0
        assert float(row["rss_after_data_mib"]) <= float(row["rss_peak_predict_mib"]) <= float(row["rss_peak_train_mib"])
    if importlib.util.find_spec("matplotlib") is None:  # the README's test install has no plot extra
        assert "no plot: matplotlib is not installed" in output and not (tmp_path / "scaling.png").exists()
    else:
        assert (tmp_path / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_batch_one_dry_run_compares_every_network_and_profiles():
    output = run_script("batch_one.py", "--dry-run")
    rows = table_rows(output)
    assert [row[0] for row in rows] == ["A", "B", "C"]
    assert all(float(value) > 0 for row in rows for value in row[2:])
    assert "cProfile of fit(batch_size=1) on A" in output and "tottime" in output


def test_accuracy_augmentation_is_a_shift_then_a_mirror_of_each_image():
    # against a direct definition, image by image: the shifts and mirrors drawn from the same generator
    augment = load("accuracy_bn")
    images = np.random.default_rng(0).random((6, 7, 5, 2), dtype=np.float32)
    out = augment.shifted_and_mirrored(images, np.random.default_rng(1), mirror=True)
    rng = np.random.default_rng(1)
    rows, cols = rng.integers(0, 2 * augment.SHIFT + 1, (2, len(images)))
    flips = rng.random(len(images)) < 0.5
    assert 0 < flips.sum() < len(images)
    for image, got, row, col, flip in zip(images, out, rows, cols, flips):
        expected = np.zeros_like(image)
        for i in range(image.shape[0]):
            for j in range(image.shape[1]):
                source_i, source_j = i + row - augment.SHIFT, j + col - augment.SHIFT
                if 0 <= source_i < image.shape[0] and 0 <= source_j < image.shape[1]:
                    expected[i, j] = image[source_i, source_j]
        np.testing.assert_array_equal(got, expected[:, ::-1] if flip else expected)
