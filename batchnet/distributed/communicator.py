"""``Distributed(comm)``: what a training loop needs from MPI, and nothing more.

Shards are contiguous and as even as can be (the first ``n % size`` ranks
take one row more), so rank order is row order: gathering the ranks' results
in rank order gives the rows back in their order.
"""

import contextlib
import sys
import traceback

import numpy as np

from batchnet.distributed.fused import FusedBuffer
from batchnet.distributed.launch import import_mpi
from batchnet.random import new_generator


def shard_bounds(rows, rank, size):
    """``(start, stop)`` of rank ``rank``'s part of ``rows`` rows cut into ``size`` contiguous shards."""
    base, extra = divmod(rows, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


class Distributed:
    """Data parallelism over an mpi4py communicator.

    ``transport``: ``"mpi"`` (host buffers; a device backend copies its fused
    buffer to the host once per step and back) or ``"nccl"`` (CuPy's NCCL on
    the device buffer, no host copy); ``None`` picks NCCL for a device backend
    when CuPy has it, else MPI. The transport is fixed at the first collective.
    """

    def __init__(self, comm, transport=None):
        self.MPI = import_mpi()
        if not isinstance(comm, self.MPI.Comm):
            raise TypeError(f"Distributed: expected an mpi4py communicator, got {type(comm).__name__}")
        if transport not in (None, "mpi", "nccl"):
            raise ValueError(f"Distributed: transport must be 'mpi', 'nccl' or None, got {transport!r}")
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.transport = transport
        self._buffer = None
        self._staging = None
        self._nccl = None

    @property
    def is_root(self):
        """Rank 0: the one that prints, plots and saves."""
        return self.rank == 0

    # -- rows -----------------------------------------------------------
    def bounds(self, rows):
        """``(start, stop)`` of this rank's part of ``rows`` rows."""
        return shard_bounds(rows, self.rank, self.size)

    def shard(self, rows_of_global_batch):
        """This rank's contiguous part of ``rows_of_global_batch`` (an array of row indices, or the rows themselves)."""
        start, stop = self.bounds(len(rows_of_global_batch))
        return rows_of_global_batch[start:stop]

    # -- collectives ------------------------------------------------------
    def common_seed(self, seed):
        """The seed every rank uses: ``seed`` (checked equal on every rank) or, for ``None``, one drawn on rank 0.

        Different seeds would give the ranks different batch orders and the
        global batches would overlap.
        """
        chosen = seed if seed is not None else int(new_generator().integers(2**63))
        root_seed = self.comm.bcast(chosen if self.is_root else None, root=0)
        if seed is not None and seed != root_seed:
            raise ValueError(f"Distributed: rank {self.rank} has seed {seed!r}, rank 0 has {root_seed!r}")
        return root_seed

    def broadcast_parameters(self, layers):
        """Give every rank rank 0's parameters (one broadcast of one fused buffer).

        Broadcast rather than assumed: a seed makes the draws equal, but a
        model loaded or set by hand on rank 0 only would not be.
        """
        buffer = self._fused(layers)
        buffer.pack_parameters()
        self._collective(buffer, lambda host: self.comm.Bcast(host, root=0), nccl="bcast")
        buffer.unpack_parameters()

    def average_gradients(self, layers, rows, global_rows):
        """Replace every layer's gradients by the mean gradient of the global batch.

        Each rank holds the mean gradient over its ``rows`` rows of a global
        batch of ``global_rows``: weighted by ``rows / global_rows`` and summed
        (one allreduce), that is the mean over the whole batch, uneven shards
        and ranks without rows included.
        """
        buffer = self._fused(layers)
        buffer.pack_gradients(rows / global_rows)
        self._collective(
            buffer, lambda host: self.comm.Allreduce(self.MPI.IN_PLACE, host, op=self.MPI.SUM), nccl="allreduce"
        )
        buffer.unpack_gradients()

    def sum(self, values):
        """The elementwise sum over the ranks of a few numbers (float64), on every rank."""
        local = np.asarray(values, dtype=np.float64)
        total = np.empty_like(local)
        self.comm.Allreduce(local, total, op=self.MPI.SUM)
        return total

    def gather(self, array):
        """Every rank's ``array`` (a NumPy array, ``None`` for a rank without rows) concatenated in rank order, on every rank."""
        local = None if array is None else np.ascontiguousarray(array)
        layouts = self.comm.allgather(None if local is None else (local.shape, local.dtype.str))
        present = [layout for layout in layouts if layout is not None]
        if not present:
            raise ValueError("Distributed.gather: no rank has any rows")
        trailing, dtype = present[0][0][1:], np.dtype(present[0][1])
        for shape, code in present:
            if shape[1:] != trailing or np.dtype(code) != dtype:
                raise ValueError(
                    f"Distributed.gather: ranks disagree on the rows' shape or dtype: {present}"
                )
        counts = [0 if layout is None else layout[0][0] for layout in layouts]
        if local is None:
            local = np.empty((0, *trailing), dtype=dtype)
        result = np.empty((sum(counts), *trailing), dtype=dtype)
        row_size = int(np.prod(trailing, dtype=np.int64))
        self.comm.Allgatherv(local.reshape(-1), [result.reshape(-1), [count * row_size for count in counts]])
        return result

    @contextlib.contextmanager
    def aborting_on_error(self):
        """End every rank's process when this one fails, instead of leaving the others waiting in a collective forever.

        The traceback goes to stderr here because ``Abort`` never returns: the
        exception would reach no one.
        """
        try:
            yield
        except BaseException as error:
            if self.size > 1 and not (isinstance(error, SystemExit) and error.code in (None, 0)):
                sys.stderr.write(
                    f"batchnet.distributed: rank {self.rank} of {self.size} failed with "
                    f"{type(error).__name__}: {error}; aborting every rank\n"
                )
                traceback.print_exc(file=sys.stderr)
                sys.stderr.flush()
                self.comm.Abort(1)
            raise

    # -- transports -------------------------------------------------------
    def _fused(self, layers):
        xp = layers[0].backend.xp if layers and layers[0].backend is not None else np
        if self._buffer is None or not self._buffer.fits(layers, xp):
            self._buffer = FusedBuffer(layers, xp)
            self._staging = None
        return self._buffer

    def _collective(self, buffer, on_host, nccl):
        """Run a collective on ``buffer``: on the host buffer directly, through NCCL, or staged through the host."""
        if buffer.xp is np:
            on_host(buffer.array)
            return
        if self._use_nccl(buffer.xp):
            getattr(self._nccl, nccl)(buffer.array)
            return
        if self._staging is None:
            self._staging = np.empty(buffer.array.shape, dtype=buffer.dtype)
        buffer.array.get(out=self._staging)
        on_host(self._staging)
        buffer.array.set(self._staging)

    def _use_nccl(self, xp):
        if self.transport is None:
            from batchnet.distributed.nccl import nccl_available

            self.transport = "nccl" if nccl_available() else "mpi"
        if self.transport == "nccl" and self._nccl is None:
            from batchnet.distributed.nccl import NCCLCommunicator

            self._nccl = NCCLCommunicator(self.comm)
        return self.transport == "nccl"
