"""Dropout layer: inverted dropout while training, the identity when inferring.

While ``training`` is set (the network sets it during fit's training pass),
each element is kept with probability ``1 - rate`` and scaled by
``1 / (1 - rate)``, so that the expected output equals the input and
inference needs no rescaling; otherwise the layer returns its input itself.

Where the masks come from: the first forward pass derives a generator of the
layer's own from the generator the network binds (``Generator.spawn``, which
draws nothing from the network's stream, so the initial weights are the same
as without the layer), seeded once, on the backend: ``xp.random.default_rng``
(a NumPy generator on the CPU, a CuPy one on the GPU). Every mask is then
drawn where the data lives: no per-step host->device copy, and the same seed
gives the same masks, hence the same result, on the CPU. (CuPy's generator
draws other numbers than NumPy's from the same seed: CPU and GPU runs agree
in distribution, not bit for bit.)

Replicas for data-parallel shards would share that generator across threads
and draw in whatever order the threads run, so the layer says
``shardable = False``: a network holding one runs its batches whole.
"""

import numbers

import numpy as np

from batchnet.layers.base import Layer


class DropoutLayer(Layer):
    """``DropoutLayer(rate)``: zeroes a fraction ``rate`` of the elements while training.

    ``rate`` is in ``[0, 1)``. ``mask`` holds the last training pass's scaled
    mask (``0`` or ``1 / (1 - rate)`` per element; ``None`` after an inference
    pass), which ``backward`` multiplies the error by. ``mask_generator`` is the
    layer's generator on its backend (``None`` before the first forward pass).
    """

    batch_state = Layer.batch_state + ("mask",)
    # see the module docstring: masks drawn by replicas in threads would not repeat
    shardable = False

    def __init__(self, rate):
        super().__init__()
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError(f"DropoutLayer: rate must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.mask_generator = None
        self.mask_seed = None

    @property
    def initialized(self):
        return self.mask_generator is not None

    def initialize(self, input_data):
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"DropoutLayer: expected float32 or float64 input, got {self.dtype}")
        # a child seed: the parent's stream (the network's weights) is left as it was
        (child,) = self.rng.spawn(1)
        self.mask_seed = int(child.bit_generator.seed_seq.generate_state(1, np.uint64)[0])
        self.mask_generator = self.xp.random.default_rng(self.mask_seed)

    def seed_for_rank(self, rank):
        """Draw masks from a stream of this rank's own (data-parallel training over MPI).

        Every rank has the same seed, so without this, ranks with shards of
        one shape would drop the very same elements of their rows. Rank r's
        stream comes from ``SeedSequence([mask_seed, r])``: the same job gives
        the same masks again.
        """
        state = np.random.SeedSequence([self.mask_seed, int(rank)]).generate_state(1, np.uint64)[0]
        self.mask_generator = self.xp.random.default_rng(int(state))

    def forward(self, input_data):
        if not self.training or self.rate == 0:
            self.mask = None
            return input_data
        xp = self.xp
        # uniform draws become the scaled mask in place: keep where u >= rate
        mask = self._buffer("mask", input_data.shape, input_data.dtype)
        self.mask_generator.random(input_data.shape, dtype=input_data.dtype, out=mask)
        keep = self._buffer("keep", input_data.shape, np.bool_)
        xp.greater_equal(mask, input_data.dtype.type(self.rate), out=keep)
        xp.multiply(keep, input_data.dtype.type(1.0 / (1.0 - self.rate)), out=mask)
        self.mask = mask
        output = self._buffer("output", input_data.shape, input_data.dtype)
        return xp.multiply(input_data, mask, out=output)

    def backward(self, output_error):
        """dE/dx = dE/dy * mask (the forward pass's own: the identity after an inference pass)."""
        self._check_output_error(output_error)
        if self.mask is None:
            return output_error
        input_error = self._buffer("input_error", output_error.shape, output_error.dtype)
        return self.xp.multiply(output_error, self.mask, out=input_error)

    def to(self, backend):
        previous = self.backend
        super().to(backend)
        if previous is not None and self.backend is not previous:
            # a generator of the new backend, spawned anew at the next forward pass
            self.mask_generator = None
        return self

    def extra_repr(self):
        return f"rate={self.rate}"
