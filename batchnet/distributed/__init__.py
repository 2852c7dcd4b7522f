"""Data-parallel training over MPI (mpi4py), behind one small interface.

``Distributed(comm)`` is all the training loop sees: ``rank``, ``size``,
``is_root``, ``shard`` (this rank's rows of a global batch),
``average_gradients`` (one allreduce per step over one fused buffer),
``broadcast_parameters``, ``sum`` (metrics) and ``gather`` (evaluate /
predict). ``world()`` says whether this process was started by ``mpiexec``
and gives ``MPI.COMM_WORLD`` then. Layers know nothing of ranks.
:mod:`batchnet.distributed.training` plugs it into the training loop's
hooks for ``NeuralNetwork.fit/evaluate/predict(..., comm=)``.

mpi4py is imported only here and only when a communicator is asked for, so
batchnet works without it (``pip install "batchnet[mpi]"`` brings it).
"""

from batchnet.distributed.communicator import Distributed
from batchnet.distributed.launch import MPIUnavailable, launched_under_mpi, world

__all__ = ["Distributed", "MPIUnavailable", "launched_under_mpi", "world"]
