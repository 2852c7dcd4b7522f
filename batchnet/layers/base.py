"""The Layer base class: the tutorial's contract, on mini-batches.

``forward_propagation(batch)`` returns the layer's output; ``backward(output_error)``
stores the parameter gradients in ``self.gradients`` and returns the error for
the layer's input; ``backward_propagation(output_error, learning_rate)`` is the
tutorial's call: ``backward`` followed by a plain SGD step.

A layer returns fresh arrays, unless ``reuse_buffers`` is set: then its large
results are written into buffers kept from call to call, so the next call
overwrites what the last one returned. ``NeuralNetwork`` sets it on its
layers while it trains and predicts, where each result is read before the
next step: a fresh multi-megabyte array costs its page faults every step
(the reused ones spared 6-7 ms of a 60-90 ms step of the standard CNN,
``batchnet.models.standard_cnn``).
"""

import copy

import numpy as np

from backends import backend_for, get_backend
from batchnet.random import new_generator


class Layer:
    """A layer of a network working on a batch whose first axis is the sample axis.

    Parameters are created lazily from the first input, in that input's float
    dtype unless ``dtype`` was given. ``parameter_names`` lists the attributes
    that hold trainable arrays; ``gradients`` maps each name to its gradient
    after ``backward``.

    A layer declares its per-batch state, which data-parallel replicas
    (:meth:`replica`) and moves (:meth:`to`) drop and nothing else:
    ``batch_state`` names every attribute a forward pass writes for its
    backward pass (the input, the output, cached columns, a pooling argmax, a
    dropout mask), reset to ``None``; ``scratch_stores`` names the dicts of
    storage kept from call to call, reset to a fresh empty dict. A subclass
    extends its parent's tuples. Everything else (parameters, settings,
    running statistics) a replica shares with the layer it was made from.

    ``state_names`` lists the arrays that belong to the model without being
    trained (batch normalization's running statistics): saved, loaded,
    checkpointed and moved with the parameters, never given to an optimizer.
    :meth:`saved_arrays` gives both kinds by name.
    """

    parameter_names = ()
    state_names = ()
    # True while the network trains, False while it infers: the network sets it before each pass
    training = False
    batch_state = ("input", "output")
    scratch_stores = ("_buffers",)

    def __init__(self, dtype=None):
        # one input sample's shape (no batch axis), kept when a move drops the input itself
        self.sample_shape = None
        self.dtype = None if dtype is None else np.dtype(dtype)
        if self.dtype is not None and self.dtype.kind != "f":
            raise TypeError(f"{self.name}: dtype must be a float type, got {self.dtype}")
        self.backend = None
        self.rng = None
        self.reuse_buffers = False
        self._forget_batch_state()  # input, output and the rest of batch_state start as None

    @property
    def name(self):
        return type(self).__name__

    @property
    def xp(self):
        return self.backend.xp

    @property
    def built(self):
        return self.backend is not None

    def bind(self, backend=None, rng=None):
        """Choose where the layer's arrays live and which generator draws its weights.

        The network calls this before the first forward pass; a layer used on
        its own binds to the backend of the first array it sees.
        """
        if backend is not None:
            self.backend = get_backend(backend)
        if rng is not None:
            self.rng = rng
        return self

    def parameters(self):
        """The trainable arrays by name (empty before the first forward pass)."""
        return {name: getattr(self, name) for name in self.parameter_names
                if getattr(self, name, None) is not None}

    def state(self):
        """The untrained arrays of the model (``state_names``) by name (empty before they are made)."""
        return {name: getattr(self, name) for name in self.state_names
                if getattr(self, name, None) is not None}

    def saved_arrays(self):
        """What a saved model keeps of the layer: its parameters and its state, by name."""
        return {**self.parameters(), **self.state()}

    def forward_propagation(self, input_data):
        if self.backend is None:
            self.backend = backend_for(input_data)
        self._check_input(input_data)
        if not self.initialized:
            if self.dtype is None:
                self.dtype = input_data.dtype
            if self.rng is None:
                self.rng = new_generator()
            self.initialize(input_data)
        self.input = input_data
        self.sample_shape = tuple(input_data.shape[1:])
        self.output = self.forward(input_data)
        return self.output

    def backward_propagation(self, output_error, learning_rate):
        input_error = self.backward(output_error)
        if learning_rate is not None:
            self.apply_gradients(learning_rate)
        return input_error

    def apply_gradients(self, learning_rate):
        """Plain SGD on every parameter: ``p -= learning_rate * dE/dp``."""
        for name, gradient in self.gradients.items():
            parameter = getattr(self, name)
            parameter -= parameter.dtype.type(learning_rate) * gradient

    @property
    def initialized(self):
        return True

    def initialize(self, input_data):
        """Create parameters from the first input (layers with parameters override)."""

    def forward(self, input_data):
        raise NotImplementedError

    def backward(self, output_error):
        raise NotImplementedError

    def replica(self):
        """A copy that shares this layer's parameters and settings but none of its declared per-batch state.

        Data-parallel training (:mod:`batchnet.training.parallel`) runs each
        shard of a batch through replicas: each one's ``batch_state`` starts
        as ``None``, its ``scratch_stores`` and its gradients empty.
        """
        clone = copy.copy(self)
        clone._forget_batch_state()
        return clone

    def to(self, backend):
        """Move the layer to ``backend`` (a name or a Backend); returns the layer.

        Its parameters and state are copied there once; its declared per-batch state is
        dropped, as a replica's is, to be made anew on the next batch. An
        unbound layer is bound to ``backend``.
        """
        backend = get_backend(backend)
        if self.backend is not None and backend is not self.backend:
            for name, value in self.saved_arrays().items():
                setattr(self, name, backend.asarray(self.backend.to_numpy(value), dtype=value.dtype))
            self._forget_batch_state()
        self.backend = backend
        return self

    def _forget_batch_state(self):
        """Reset the declared ``batch_state`` and ``scratch_stores``, and the gradients."""
        for name in self.batch_state:
            setattr(self, name, None)
        for name in self.scratch_stores:
            setattr(self, name, {})
        self.gradients = {}

    def _buffer(self, name, shape, dtype):
        """An uninitialized array for the result ``name``: kept from the last call with ``reuse_buffers``."""
        if not self.reuse_buffers:
            return self.xp.empty(shape, dtype=dtype)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != tuple(shape) or buffer.dtype != dtype:
            buffer = self._buffers[name] = self.xp.empty(shape, dtype=dtype)
        return buffer

    def _check_input(self, input_data):
        if not hasattr(input_data, "dtype") or not hasattr(input_data, "shape"):
            raise TypeError(f"{self.name}: expected an array, got {type(input_data).__name__}")
        if input_data.dtype.kind != "f":
            raise TypeError(
                f"{self.name}: expected a float array, got dtype {input_data.dtype} "
                "(scale integer images to floats first, e.g. x / 255)"
            )
        if input_data.ndim < 1 or input_data.shape[0] == 0:
            raise ValueError(f"{self.name}: expected a non-empty batch, got shape {input_data.shape}")
        if self.dtype is not None and input_data.dtype != self.dtype:
            raise TypeError(
                f"{self.name}: expected input of dtype {self.dtype}, got {input_data.dtype}"
            )

    def _check_output_error(self, output_error):
        if self.output is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        if output_error.shape != self.output.shape:
            raise ValueError(
                f"{self.name}: expected output error of shape {self.output.shape}, "
                f"got {output_error.shape}"
            )
        if output_error.dtype != self.output.dtype:
            raise TypeError(
                f"{self.name}: expected output error of dtype {self.output.dtype} like the output, "
                f"got {output_error.dtype}"
            )

    def extra_repr(self):
        return ""

    def __repr__(self):
        return f"{self.name}({self.extra_repr()})"
