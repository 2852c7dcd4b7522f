"""The GPU transport: NCCL through CuPy, collectives on device buffers with no host copy.

Each rank must already use its own GPU (``CUDA_VISIBLE_DEVICES`` per rank, or
``cupy.cuda.Device(local_rank).use()``): NCCL refuses two ranks on one device.
MPI only carries NCCL's unique id from rank 0 to the others, once.
"""

import numpy as np


def nccl_available():
    """Whether CuPy was built with NCCL (and so ``cupy.cuda.nccl`` imports)."""
    try:
        from cupy.cuda import nccl  # noqa: F401
    except ImportError:
        return False
    return True


class NCCLCommunicator:
    """An NCCL communicator spanning the ranks of an MPI communicator, in the same rank order."""

    def __init__(self, comm):
        from cupy.cuda import nccl

        self.nccl = nccl
        unique_id = comm.bcast(nccl.get_unique_id() if comm.Get_rank() == 0 else None, root=0)
        self.comm = nccl.NcclCommunicator(comm.Get_size(), unique_id, comm.Get_rank())
        self.datatypes = {np.dtype(np.float32): nccl.NCCL_FLOAT32, np.dtype(np.float64): nccl.NCCL_FLOAT64}

    def _datatype(self, array):
        try:
            return self.datatypes[np.dtype(array.dtype)]
        except KeyError:
            raise TypeError(f"batchnet.distributed: NCCL takes float32 or float64 buffers, got {array.dtype}") from None

    def allreduce(self, array):
        """Sum ``array`` over the ranks, in place, on the current stream."""
        import cupy

        stream = cupy.cuda.get_current_stream().ptr
        self.comm.allReduce(array.data.ptr, array.data.ptr, array.size, self._datatype(array),
                            self.nccl.NCCL_SUM, stream)

    def bcast(self, array):
        """Rank 0's ``array`` into every rank's, in place."""
        import cupy

        stream = cupy.cuda.get_current_stream().ptr
        self.comm.bcast(array.data.ptr, array.size, self._datatype(array), 0, stream)
