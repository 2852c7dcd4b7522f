"""``mpiexec -n 2 python -m batchnet train|evaluate``: one report, one model file, one process's result.

The job runs on the tiny synthetic dataset of tests/cli_data.py, bounded by a
timeout; its saved model is compared with the one a single process trains
here with the same settings (float64, rtol 1e-10), and its printed accuracy
with the one that process prints.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from batchnet import cli
from batchnet.saving.model_file import load_model
from cli_data import write_tiny_dataset

ROOT = Path(__file__).resolve().parent.parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"
TIMEOUT_S = 180

needs_mpi4py = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None,
                                  reason='mpi4py is not installed (pip install "batchnet[mpi]")')
needs_mpiexec = pytest.mark.skipif(not MPIEXEC.exists(), reason=f"no mpiexec next to {sys.executable}")

TRAIN = ["train", "--model", "mlp", "--epochs", "2", "--batch-size", "25", "--dtype", "float64",
         "--optimizer", "sgd", "--lr", "0.1", "--verbose", "2", "--seed", "3"]


def mpiexec(ranks, arguments):
    """``python -m batchnet ARGUMENTS`` on ``ranks`` MPI processes; the CompletedProcess."""
    environment = os.environ | {"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [str(MPIEXEC), "-n", str(ranks), sys.executable, "-m", "batchnet", *map(str, arguments)]
    try:
        return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"mpiexec -n {ranks} batchnet {arguments[0]} still ran after {TIMEOUT_S} s: {error.stderr}")


def lines_with(text, start):
    return [line for line in text.splitlines() if line.startswith(start)]


@needs_mpi4py
@needs_mpiexec
def test_two_ranks_train_print_once_save_one_model_and_match_one_process(tmp_path, capsys):
    data = write_tiny_dataset(tmp_path / "data", train=130, test=30)
    job_model, alone_model = tmp_path / "job.npz", tmp_path / "alone.npz"
    done = mpiexec(2, [*TRAIN, "--data-dir", data, "--save", job_model])
    assert done.returncode == 0, done.stderr
    # rank 0 alone speaks: one header, one line per epoch, one test accuracy, one "saved"
    assert len(lines_with(done.stdout, "training mlp on mnist: 130 images")) == 1, done.stdout
    assert len(lines_with(done.stdout, "test accuracy: ")) == 1, done.stdout
    assert len(lines_with(done.stdout, f"saved the model to {job_model}")) == 1, done.stdout
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data", "job.npz"]

    assert cli.main([*TRAIN, "--data-dir", str(data), "--save", str(alone_model)]) == 0
    alone_output = capsys.readouterr().out
    assert lines_with(done.stdout, "test accuracy: ") == lines_with(alone_output, "test accuracy: ")
    job, alone = load_model(job_model), load_model(alone_model)
    assert job.dtype == np.float64 and len(job.layers) == len(alone.layers)
    for index, (got, expected) in enumerate(zip(job.layers, alone.layers)):
        assert sorted(got.parameters()) == sorted(expected.parameters())
        for name, value in expected.parameters().items():
            np.testing.assert_allclose(got.parameters()[name], value, rtol=1e-10, atol=1e-13,
                                       err_msg=f"layer {index} {name}: two ranks differ from one process")
    # the epochs' figures, summed over the ranks, are printed as one process prints them
    epochs = [line for line in done.stdout.splitlines() if "loss=" in line]
    assert len(epochs) == 2 and epochs == [line for line in alone_output.splitlines() if "loss=" in line], (
        done.stdout, alone_output)

    evaluated = mpiexec(2, ["evaluate", job_model, "--data-dir", data])
    assert evaluated.returncode == 0, evaluated.stderr
    assert len(lines_with(evaluated.stdout, "test accuracy: ")) == 1, evaluated.stdout
    printed = lines_with(alone_output, "test accuracy: ")[0].split()[2]
    assert lines_with(evaluated.stdout, "test accuracy: ")[0].split()[2] == printed


def test_an_mpi_launch_without_mpi4py_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PMI_SIZE", "2")  # as mpiexec sets it
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py then raises ImportError
    data = write_tiny_dataset(tmp_path / "data", train=20, test=10)
    assert cli.main([*TRAIN, "--data-dir", str(data), "--save", str(tmp_path / "model.npz")]) == 1
    error = capsys.readouterr().err
    assert "MPI needs mpi4py" in error and 'pip install "batchnet[mpi]"' in error, error
    assert "Traceback" not in error
    assert not (tmp_path / "model.npz").exists()
