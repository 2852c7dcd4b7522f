"""Data parallelism over MPI: P ranks give one process's result; a failing rank ends the job.

Each test spawns ``mpiexec -n P`` (the one installed next to this Python, as
``pip install "batchnet[mpi]"`` puts it) on tests/mpi_worker.py, bounded by a
timeout, and compares every rank's weights and history with one process
training on the same global batches here (float64, rtol 1e-10).
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mpi_worker

WORKER = Path(mpi_worker.__file__)
ROOT = Path(__file__).resolve().parent.parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"
TIMEOUT_S = 120

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None,
                       reason='mpi4py is not installed (pip install "batchnet[mpi]")'),
    pytest.mark.skipif(not MPIEXEC.exists(), reason=f"no mpiexec next to {sys.executable} "
                       '(pip install "batchnet[mpi]" brings MPICH\'s)'),
]


def spawn(ranks, scenario, out, *options):
    """Run the worker on ``ranks`` MPI processes; the CompletedProcess (a hang fails the test at the timeout)."""
    environment = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(WORKER.parent)]),
                                "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [str(MPIEXEC), "-n", str(ranks), sys.executable, str(WORKER), scenario, str(out), *options]
    try:
        return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"mpiexec -n {ranks} {scenario} still ran after {TIMEOUT_S} s (a hang): {error.stderr}")


def ranks_results(ranks, out):
    return [dict(np.load(out / f"rank{rank}.npz")) for rank in range(ranks)]


def one_process(kind, samples, batch, epochs=2, optimizer="sgd", no_shuffle=False, validation_split=0.0):
    options = mpi_worker.argparse.Namespace(epochs=epochs, batch=batch, optimizer=optimizer,
                                            no_shuffle=no_shuffle, validation_split=validation_split)
    network = mpi_worker.make_network(kind)
    mpi_worker.train(network, *mpi_worker.make_data(kind, samples), options)
    return mpi_worker.weights_of(network) | mpi_worker.history_of(network)


def assert_same_as_one_process(results, expected):
    for rank, got in enumerate(results):
        assert sorted(got) == sorted(expected), f"rank {rank} has {sorted(got)}, one process {sorted(expected)}"
        for name, value in expected.items():
            np.testing.assert_allclose(got[name], value, rtol=1e-10, atol=1e-13,
                                       err_msg=f"rank {rank}: {name} differs from one process")


# (ranks, kind, samples, global batch, options): uneven shards (8 rows on 3 ranks), last
# partial batches (21 = 2*8 + 5), ranks with no rows at all in a last batch of 1 (13 = 3*4 + 1)
CASES = [
    (2, "dense", 21, 8, ["--optimizer", "adam"]),
    (3, "dense", 21, 8, ["--validation-split", "0.2"]),
    (3, "dense", 13, 4, ["--no-shuffle"]),
    (2, "conv", 21, 8, []),
    (3, "conv", 13, 4, ["--optimizer", "adam", "--validation-split", "0.25"]),
    # dropout: each rank cuts its rows' masks from the whole batch's draws; with a rank that has
    # no rows of the last batch (13 = 3*4 + 1), which must still draw to keep step
    (2, "dropout", 21, 8, ["--optimizer", "adam"]),
    (3, "dropout", 13, 4, []),
    (3, "dropout", 13, 4, ["--no-shuffle"]),
]


@pytest.mark.parametrize("ranks, kind, samples, batch, options", CASES,
                         ids=[f"{c[0]}ranks-{c[1]}-{c[2]}samples-batch{c[3]}" for c in CASES])
def test_ranks_train_to_the_weights_and_history_of_one_process(tmp_path, ranks, kind, samples, batch, options):
    done = spawn(ranks, "train", tmp_path, "--kind", kind, "--samples", str(samples), "--batch", str(batch),
                 *options)
    assert done.returncode == 0, done.stderr
    flags = {"optimizer": "sgd", "no_shuffle": False, "validation_split": 0.0}
    for flag, value in zip(options, options[1:] + [None]):
        if flag == "--optimizer":
            flags["optimizer"] = value
        elif flag == "--no-shuffle":
            flags["no_shuffle"] = True
        elif flag == "--validation-split":
            flags["validation_split"] = float(value)
    expected = one_process(kind, samples, batch, **flags)
    assert len(expected["history_loss"]) == 2
    assert_same_as_one_process(ranks_results(ranks, tmp_path), expected)


@pytest.mark.parametrize("ranks", [2, 3])
def test_gathered_evaluate_and_predict_equal_one_process(tmp_path, ranks):
    # 10 rows on 3 ranks: shards of 4, 3 and 3, each run in batches of 3
    done = spawn(ranks, "evaluate", tmp_path, "--kind", "conv", "--samples", "10", "--batch", "4")
    assert done.returncode == 0, done.stderr
    for rank, got in enumerate(ranks_results(ranks, tmp_path)):
        assert got["gathered_predict"].shape == (10, 3)
        np.testing.assert_allclose(got["gathered_predict"], got["alone_predict"], rtol=1e-12, atol=0)
        for name in ("loss", "accuracy"):
            np.testing.assert_allclose(got[f"gathered_{name}"], got[f"alone_{name}"], rtol=1e-12,
                                       err_msg=f"rank {rank}: evaluate's {name}")


@pytest.mark.parametrize("how", ["raise", "exit", "kill"])
def test_a_failing_rank_ends_the_job_without_a_model_file(tmp_path, how):
    done = spawn(2, how, tmp_path, "--kind", "dense", "--samples", "40", "--batch", "4", "--epochs", "3")
    assert done.returncode != 0, f"the job ended with status 0 after rank 1 {how}: {done.stdout}{done.stderr}"
    assert not list(tmp_path.iterdir()), f"files left: {list(tmp_path.iterdir())}"
    if how == "raise":
        assert "rank 1 of 2 failed with RuntimeError: rank 1 fails on purpose" in done.stderr, done.stderr
