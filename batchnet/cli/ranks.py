"""The commands under ``mpiexec -n P batchnet ...``: the world communicator, and which rank speaks.

Every rank runs the same command on the same data; the network shares the
work out (``comm=``), and rank 0 alone prints, plots and writes files, so
that one job gives one report and one model file.
"""

import sys

from batchnet.cli.errors import CommandError


def mpi_world():
    """``MPI.COMM_WORLD`` when launched as several MPI ranks, else None (a plain run needs no mpi4py)."""
    from batchnet.distributed import MPIUnavailable, world

    try:
        return world()
    except MPIUnavailable as error:
        raise CommandError(str(error)) from None


def is_root(comm):
    """Whether this process prints and writes: the only process, or rank 0 of ``comm``."""
    return comm is None or comm.Get_rank() == 0


def printer(comm):
    """``print`` on the process that speaks, a function that prints nothing on the others."""
    return print if is_root(comm) else _silent


def note(comm, command, message):
    """``message`` on stderr as one line from ``batchnet command``, on the process that speaks:
    what the command does other than asked, and goes on."""
    if is_root(comm):
        print(f"batchnet {command}: note: {message}", file=sys.stderr, flush=True)


def _silent(*values, **options):
    """Nothing: a rank other than 0 of an MPI job says nothing."""
