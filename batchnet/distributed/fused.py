"""One contiguous buffer holding every layer's gradients (or parameters), for one collective.

One allreduce of the whole model costs one latency; one per array would cost
as many latencies as there are arrays (a dozen for network B). The buffer is
kept between steps and rebuilt only when the layers' shapes change.

Where the buffer lives depends on the transport: on the host for MPI (a
device backend then stages it: one device-to-host and one host-to-device copy
per step), on the device for NCCL (no host copy at all).
"""

import math

import numpy as np


class FusedBuffer:
    """A flat array with one slot per ``(layer, parameter name)``, in the layers' order."""

    def __init__(self, layers, xp):
        self.slots = []
        offset = 0
        dtypes = set()
        for layer in layers:
            for name in layer.parameter_names:
                parameter = getattr(layer, name, None)
                if parameter is None:
                    raise RuntimeError(
                        f"batchnet.distributed: {layer.name}.{name} is not initialized; "
                        "run a forward pass before distributing the parameters"
                    )
                size = math.prod(parameter.shape)
                self.slots.append((layer, name, tuple(parameter.shape), offset, size))
                dtypes.add(np.dtype(parameter.dtype))
                offset += size
        if len(dtypes) > 1:
            raise TypeError(
                f"batchnet.distributed: one fused buffer needs one dtype, the layers have {sorted(map(str, dtypes))}"
            )
        self.dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
        self.array = xp.empty(offset, dtype=self.dtype)
        self.xp = xp

    def fits(self, layers, xp):
        """Whether ``layers`` still have the shapes (and the dtype and array module) this buffer was made for."""
        if xp is not self.xp:
            return False
        current = [(layer, name, tuple(getattr(layer, name).shape))
                   for layer in layers for name in layer.parameter_names if getattr(layer, name, None) is not None]
        return (len(current) == len(self.slots)
                and all(a[0] is b[0] and a[1] == b[1] and a[2] == b[2] for a, b in zip(current, self.slots))
                and all(getattr(layer, name).dtype == self.dtype for layer, name, _ in current))

    def pack_gradients(self, weight):
        """Every gradient times ``weight`` into the buffer; a layer without a gradient (no rows here) gives zeros."""
        scale = self.dtype.type(weight)
        for layer, name, shape, offset, size in self.slots:
            view = self.array[offset:offset + size].reshape(shape)
            gradient = layer.gradients.get(name) if weight else None
            if gradient is None:
                view[...] = 0
            else:
                self.xp.multiply(gradient, scale, out=view)

    def unpack_gradients(self):
        """Every layer's gradients become views of the buffer's sums: no copy (the backward
        pass makes a new ``gradients`` dict each step, so the next one never writes here)."""
        for layer, name, shape, offset, size in self.slots:
            layer.gradients[name] = self.array[offset:offset + size].reshape(shape)

    def pack_parameters(self):
        for layer, name, shape, offset, size in self.slots:
            self.array[offset:offset + size] = getattr(layer, name).reshape(-1)

    def unpack_parameters(self):
        for layer, name, shape, offset, size in self.slots:
            getattr(layer, name)[...] = self.array[offset:offset + size].reshape(shape)
