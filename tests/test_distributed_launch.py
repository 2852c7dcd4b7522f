"""The parts of batchnet.distributed that need no second process: launch detection, shards, one-rank collectives."""

import importlib.util

import numpy as np
import pytest

from batchnet.distributed import MPIUnavailable, launched_under_mpi, world
from batchnet.distributed.communicator import shard_bounds

needs_mpi4py = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None,
                                  reason='mpi4py is not installed (pip install "batchnet[mpi]")')


@pytest.mark.parametrize("environ, size", [
    ({}, 0),
    ({"PMI_SIZE": "4"}, 4),                        # MPICH's Hydra
    ({"OMPI_COMM_WORLD_SIZE": "3"}, 3),            # Open MPI
    ({"PMI_SIZE": "1"}, 0),                        # one rank: nothing to distribute
    ({"SLURM_NTASKS": "8"}, 0),                    # an sbatch script's own process, not srun's tasks
    ({"SLURM_NTASKS": "8", "SLURM_PROCID": "2"}, 8),
    ({"PMI_SIZE": "lots"}, 0),
])
def test_a_launch_is_seen_from_the_launchers_variables(environ, size):
    assert launched_under_mpi(environ) == size


def test_no_launch_gives_no_communicator():
    assert world({}) is None


@needs_mpi4py
def test_a_launch_that_mpi_does_not_see_is_an_error():
    # this process is a world of one: an MPI library other than the launcher's looks like that
    with pytest.raises(MPIUnavailable, match="launcher started 2 processes but MPI sees 1"):
        world({"PMI_SIZE": "2"})


@pytest.mark.parametrize("rows, size", [(8, 3), (5, 2), (1, 3), (0, 2), (64, 64), (10, 4)])
def test_shards_cover_the_rows_in_order_and_differ_by_at_most_one(rows, size):
    bounds = [shard_bounds(rows, rank, size) for rank in range(size)]
    assert bounds[0][0] == 0 and bounds[-1][1] == rows
    assert all(previous[1] == current[0] for previous, current in zip(bounds, bounds[1:]))
    lengths = [stop - start for start, stop in bounds]
    assert max(lengths) - min(lengths) <= 1 and sorted(lengths, reverse=True) == lengths


@needs_mpi4py
def test_one_rank_shards_sums_and_gathers_everything():
    from mpi4py import MPI

    from batchnet.distributed import Distributed

    distributed = Distributed(MPI.COMM_SELF)
    rows = np.arange(12.0).reshape(6, 2)
    assert distributed.is_root and distributed.size == 1
    np.testing.assert_array_equal(distributed.shard(rows), rows)
    np.testing.assert_array_equal(distributed.gather(rows), rows)
    np.testing.assert_array_equal(distributed.sum([1.5, 2.0]), [1.5, 2.0])
    assert distributed.common_seed(5) == 5


@needs_mpi4py
def test_a_communicator_is_required():
    from batchnet.distributed import Distributed

    with pytest.raises(TypeError, match="expected an mpi4py communicator, got int"):
        Distributed(3)
