"""Was this process started by an MPI launcher, and if so, its world communicator.

``mpiexec`` (MPICH's Hydra, Open MPI's ORTE/PRRTE) and Slurm's ``srun`` put
the job's size in the environment before Python starts, so a launch is seen
without importing mpi4py, which a plain ``batchnet train`` must not need.
"""

import os

# the launchers' own variables for the number of processes in the job
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS")


class MPIUnavailable(RuntimeError):
    """Started by an MPI launcher (or asked for MPI) but mpi4py cannot be imported."""


def launched_under_mpi(environ=None):
    """The job size the launcher announced (an int > 1), or 0 when not launched as a parallel job.

    ``SLURM_NTASKS`` alone is not enough (an ``sbatch`` script running one
    plain process has it too): it counts only together with ``SLURM_PROCID``,
    which ``srun`` sets per task.
    """
    environ = os.environ if environ is None else environ
    for name in SIZE_VARIABLES:
        if name == "SLURM_NTASKS" and "SLURM_PROCID" not in environ:
            continue
        try:
            size = int(environ.get(name, ""))
        except ValueError:
            continue
        if size > 1:
            return size
    return 0


def import_mpi():
    """``mpi4py.MPI``, or :class:`MPIUnavailable` saying how to get it."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise MPIUnavailable(
            f"batchnet.distributed: MPI needs mpi4py and an MPI library ({error}); "
            'install them with pip install "batchnet[mpi]"'
        ) from error
    return MPI


def world(environ=None):
    """``MPI.COMM_WORLD`` when this process is one of several ranks of an MPI job, else ``None``.

    A launch seen in the environment without mpi4py raises :class:`MPIUnavailable`:
    training alone on every rank would silently do the work P times.
    """
    expected = launched_under_mpi(environ)
    if not expected:
        return None
    comm = import_mpi().COMM_WORLD
    if comm.Get_size() != expected:
        # e.g. an Open MPI launcher running an mpi4py built on MPICH: each rank is a world of 1
        raise MPIUnavailable(
            f"batchnet.distributed: the launcher started {expected} processes but MPI sees "
            f"{comm.Get_size()}; mpi4py's MPI library is not the launcher's (use the mpiexec "
            "that comes with it)"
        )
    return comm
