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
        # (start, stop, total) while data-parallel training runs: see _uniform_draws
        self.rows_of_batch = None

    @property
    def initialized(self):
        return self.mask_generator is not None

    def initialize(self, input_data):
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"DropoutLayer: expected float32 or float64 input, got {self.dtype}")
        # a child seed: the parent's stream (the network's weights) is left as it was
        (child,) = self.rng.spawn(1)
        seed = int(child.bit_generator.seed_seq.generate_state(1, np.uint64)[0])
        self.mask_generator = self.xp.random.default_rng(seed)

    def forward(self, input_data):
        if not self.training or self.rate == 0:
            self.mask = None
            return input_data
        xp = self.xp
        # uniform draws become the scaled mask (in place, in one process): keep where u >= rate
        mask = self._buffer("mask", input_data.shape, input_data.dtype)
        uniform = self._uniform_draws(input_data.shape, input_data.dtype, mask)
        keep = self._buffer("keep", input_data.shape, np.bool_)
        xp.greater_equal(uniform, input_data.dtype.type(self.rate), out=keep)
        xp.multiply(keep, input_data.dtype.type(1.0 / (1.0 - self.rate)), out=mask)
        self.mask = mask
        output = self._buffer("output", input_data.shape, input_data.dtype)
        return xp.multiply(input_data, mask, out=output)

    def _uniform_draws(self, shape, dtype, out):
        """U[0, 1) draws for a batch of ``shape``, in ``out``, or, in data-parallel training, a view.

        There ``rows_of_batch = (start, stop, total)`` says that this batch is
        rows start..stop of a global batch of ``total`` rows: the draws are the
        whole global batch's, cut to those rows, so that the processes together
        drop what one process training on the whole batch would (same seed,
        same generator on each), and P processes give one process's weights.
        """
        if self.rows_of_batch is None:
            return self.mask_generator.random(shape, dtype=dtype, out=out)
        start, stop, total = self.rows_of_batch
        if stop - start != shape[0]:
            raise ValueError(f"{self.name}: rows_of_batch {self.rows_of_batch} does not fit a batch of {shape[0]} rows")
        whole = self._buffer("whole_batch_draws", (total, *shape[1:]), dtype)
        self.mask_generator.random(whole.shape, dtype=dtype, out=whole)
        return whole[start:stop]

    def draw_for_rows_elsewhere(self):
        """Draw, and leave unused, the masks of a global batch none of whose rows are here.

        The data-parallel loop calls it for a process whose share of a (last,
        small) batch is empty, so that its generator keeps step with the others'.
        """
        if self.training and self.rate != 0 and self.rows_of_batch is not None:
            self._uniform_draws((0, *self.sample_shape), self.dtype, None)

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
