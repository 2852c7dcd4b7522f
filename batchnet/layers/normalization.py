"""Batch normalization over the last axis: features of ``(N, features)``, channels of NHWC.

While ``training`` is set (the network sets it during fit's training pass),
each feature is normalized with the batch's mean and biased variance (the
mean of squared deviations, as PyTorch and Keras normalize), then scaled by
``gamma`` and shifted by ``beta``. Each training pass also updates the
running statistics the Keras way::

    running = momentum * running + (1 - momentum) * batch

with the *biased* batch variance for ``running_var`` too (Keras's choice;
PyTorch keeps the unbiased one there). Inference normalizes with the running
statistics. ``running_mean`` and ``running_var`` are not trained but belong
to the model: ``state_names`` lists them for saving.

Statistics over shards of a batch would differ from the whole batch's, so the
layer says ``shardable = False``: a network holding one runs batches whole.
"""

import numbers

from batchnet.layers.base import Layer


class BatchNormalizationLayer(Layer):
    """``BatchNormalizationLayer(momentum=0.9, epsilon=1e-5)``, per feature of the last axis.

    ``gamma`` (ones) and ``beta`` (zeros) are the trainable scale and shift,
    ``running_mean`` (zeros) and ``running_var`` (ones) the statistics used at
    inference; all four have one entry per feature and are made on the first
    forward pass, unless assigned before (shapes are checked then).
    """

    parameter_names = ("gamma", "beta")
    # arrays saved with the model that no optimizer touches
    state_names = ("running_mean", "running_var")
    # what a forward pass normalized with, for its backward pass
    batch_state = Layer.batch_state + ("normalized", "inverse_std", "batch_statistics")
    shardable = False

    def __init__(self, momentum=0.9, epsilon=1e-5, dtype=None):
        super().__init__(dtype)
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalizationLayer: momentum must be a number in [0, 1], got {momentum!r}")
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon > 0:
            raise ValueError(f"BatchNormalizationLayer: epsilon must be a number > 0, got {epsilon!r}")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.gamma = None
        self.beta = None
        self.running_mean = None
        self.running_var = None

    @property
    def initialized(self):
        return all(getattr(self, name) is not None for name in self.parameter_names + self.state_names)

    def parameter_shapes(self, sample_shape=None):
        """``{name: (features,)}`` for gamma and beta; ``(None,)`` without ``sample_shape``."""
        features = None if sample_shape is None else sample_shape[-1]
        return {name: (features,) for name in self.parameter_names}

    def state_shapes(self, sample_shape=None):
        """``{name: (features,)}`` for the running statistics, as :meth:`parameter_shapes`."""
        features = None if sample_shape is None else sample_shape[-1]
        return {name: (features,) for name in self.state_names}

    def initialize(self, input_data):
        features = input_data.shape[-1]
        for name, fill in (("gamma", 1), ("beta", 0), ("running_mean", 0), ("running_var", 1)):
            if getattr(self, name) is None:
                setattr(self, name, self.xp.full((features,), fill, dtype=self.dtype))
            elif tuple(getattr(self, name).shape) != (features,):
                raise ValueError(
                    f"{self.name}: expected {name} of shape ({features},), got {tuple(getattr(self, name).shape)}"
                )

    def reset_parameters(self):
        """Forget gamma, beta and the running statistics; the next forward pass makes new ones."""
        for name in self.parameter_names + self.state_names:
            setattr(self, name, None)
        self.gradients = {}

    def _check_input(self, input_data):
        super()._check_input(input_data)
        if input_data.ndim < 2:
            raise ValueError(
                f"{self.name}: expected a batch (N, features) or (N, H, W, C), got shape {input_data.shape}"
            )
        if self.gamma is not None and input_data.shape[-1] != self.gamma.shape[0]:
            raise ValueError(
                f"{self.name}: expected input with {self.gamma.shape[0]} features on the last axis, "
                f"got shape {input_data.shape}"
            )

    def forward(self, input_data):
        xp, dtype = self.xp, input_data.dtype
        features = input_data.shape[-1]
        rows = xp.ascontiguousarray(input_data.reshape(-1, features))  # every axis but the last is a sample
        normalized = self._buffer("normalized", rows.shape, dtype)
        output = self._buffer("output", rows.shape, dtype)
        if self.training:
            # mean and biased variance of each feature, normalized and output written in two passes
            # over the rows where the backend has a kernel for it (NumPy takes seven)
            mean, variance, inverse_std = self.backend.batch_norm_forward(
                rows, self.gamma, self.beta, self.epsilon, normalized, output)
            keep, take = dtype.type(self.momentum), dtype.type(1 - self.momentum)
            self.running_mean *= keep
            self.running_mean += take * mean
            self.running_var *= keep
            self.running_var += take * variance
        else:
            inverse_std = 1 / xp.sqrt(self.running_var + dtype.type(self.epsilon))
            xp.subtract(rows, self.running_mean, out=normalized)
            normalized *= inverse_std
            xp.multiply(normalized, self.gamma, out=output)
            output += self.beta
        self.normalized, self.inverse_std = normalized, inverse_std
        self.batch_statistics = self.training
        return output.reshape(input_data.shape)

    def backward(self, output_error, need_input_error=True):
        """Gradients of gamma and beta, and dE/dx.

        After a training pass the statistics depend on x:
        ``dx = (1/M) * gamma * inv_std * (M*dy - sum(dy) - xhat * sum(dy*xhat))``
        over the M rows of each feature; after an inference pass they are
        constants and ``dx = gamma * inv_std * dy``.
        """
        self._check_output_error(output_error)
        features = output_error.shape[-1]
        errors = self.xp.ascontiguousarray(output_error.reshape(-1, features))
        scale = self.gamma * self.inverse_std
        if self.batch_statistics and need_input_error:
            input_error = self._buffer("input_error", errors.shape, errors.dtype)
            gamma_gradient, beta_gradient = self.backend.batch_norm_backward(errors, self.normalized, scale, input_error)
        else:
            # no input error wanted, or the statistics were constants (the running ones)
            gamma_gradient, beta_gradient = self.backend.batch_norm_backward(errors, self.normalized, scale)
            input_error = None
            if need_input_error:
                buffer = self._buffer("input_error", errors.shape, errors.dtype)
                input_error = self.xp.multiply(errors, scale, out=buffer)
        self.gradients = {"gamma": gamma_gradient, "beta": beta_gradient}
        if input_error is None:
            return None
        return input_error.reshape(output_error.shape)

    def extra_repr(self):
        parts = []
        if self.momentum != 0.9:
            parts.append(f"momentum={self.momentum}")
        if self.epsilon != 1e-5:
            parts.append(f"epsilon={self.epsilon}")
        return ", ".join(parts)
