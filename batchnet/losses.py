"""Loss functions ``loss(y_true, y_pred)`` and their gradients ``loss_prime(y_true, y_pred)``.

Both are means over the batch, so the gradient of a batch is the average of
the per-sample gradients and a learning rate means the same at any batch size.
"""

from backends import backend_for


def _targets(name, y_true, y_pred):
    """``y_true`` checked against the output, in the output's dtype (float64 targets
    must not turn a float32 network's backward pass into float64)."""
    if y_true.shape != y_pred.shape:
        hint = ""
        if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] > 1:
            hint = " (labels look like class indices: one-hot encode them with batchnet.one_hot)"
        raise ValueError(
            f"{name}: expected targets of shape {y_pred.shape} like the network output, "
            f"got {y_true.shape}{hint}"
        )
    return y_true.astype(y_pred.dtype, copy=False)


def mse(y_true, y_pred):
    """Mean squared error over every element of the batch: mean((y - y_hat)^2)."""
    y_true = _targets("mse", y_true, y_pred)
    difference = y_true - y_pred
    return (difference * difference).mean()


def mse_prime(y_true, y_pred):
    """d mse / d y_hat = 2 (y_hat - y) / size."""
    y_true = _targets("mse_prime", y_true, y_pred)
    return (y_pred - y_true) * y_pred.dtype.type(2.0 / y_pred.size)


def _log_softmax(logits):
    xp = backend_for(logits).xp
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(y_true, logits):
    """Cross-entropy of one-hot targets against softmax(logits), averaged over the batch.

    Takes logits, not probabilities: the softmax is fused in and computed with
    the log-sum-exp shift, so large logits neither overflow nor give log(0).
    """
    y_true = _targets("softmax_cross_entropy", y_true, logits)
    return -(y_true * _log_softmax(logits)).sum() / logits.shape[0]


def softmax_cross_entropy_prime(y_true, logits):
    """d CE / d logits = (softmax(logits) * sum(y) - y) / N, the sum over each row's classes.

    For one-hot rows (or any summing to 1) this is the familiar ``softmax - y``;
    a soft target row summing to s > 0 weighs the softmax by s, as the loss does.
    """
    y_true = _targets("softmax_cross_entropy_prime", y_true, logits)
    xp = backend_for(logits).xp
    probabilities = xp.exp(_log_softmax(logits))
    row_sums = y_true.sum(axis=-1, keepdims=True)
    return (probabilities * row_sums - y_true) * logits.dtype.type(1.0 / logits.shape[0])


softmax_cross_entropy.needs_one_hot = True
softmax_cross_entropy_prime.needs_one_hot = True

LOSSES = {
    "mse": (mse, mse_prime),
    "softmax_cross_entropy": (softmax_cross_entropy, softmax_cross_entropy_prime),
}


def binary_cross_entropy(y_true, logits):
    """Binary cross-entropy of targets in [0, 1] against sigmoid(logits), averaged over every element.

    Takes logits, fused with the sigmoid: ``max(z, 0) - z*y + log(1 + e^-|z|)``
    equals ``-y log s(z) - (1 - y) log(1 - s(z))`` with neither overflow nor
    log(0). Averaged over all N*k elements, as PyTorch's BCEWithLogitsLoss and
    Keras's binary_crossentropy do (for (N, 1) outputs: over the batch).
    """
    y_true = _targets("binary_cross_entropy", y_true, logits)
    xp = backend_for(logits).xp
    losses = xp.maximum(logits, 0) - logits * y_true + xp.log1p(xp.exp(-xp.abs(logits)))
    return losses.mean()


def binary_cross_entropy_prime(y_true, logits):
    """d BCE / d z = (sigmoid(z) - y) / size."""
    y_true = _targets("binary_cross_entropy_prime", y_true, logits)
    xp = backend_for(logits).xp
    # sigmoid as 0.5 (1 + tanh(z / 2)): no overflow for large |z|
    probabilities = 0.5 * (1 + xp.tanh(0.5 * logits))
    return (probabilities - y_true) * logits.dtype.type(1.0 / logits.size)


CATEGORICAL_EPSILON = 1e-7  # Keras's epsilon: probabilities are clipped to [eps, 1 - eps]


def _clipped(probabilities):
    dtype = probabilities.dtype.type
    return backend_for(probabilities).xp.clip(
        probabilities, dtype(CATEGORICAL_EPSILON), dtype(1 - CATEGORICAL_EPSILON))


def categorical_cross_entropy(y_true, probabilities):
    """-sum(y log p) of one-hot targets against probabilities (a softmax layer's output), averaged over the batch.

    ``p`` is clipped to ``[CATEGORICAL_EPSILON, 1 - CATEGORICAL_EPSILON]`` first, so a
    probability of 0 gives a large finite loss, not inf. Prefer
    ``softmax_cross_entropy`` on logits where the softmax is yours to fuse.
    """
    y_true = _targets("categorical_cross_entropy", y_true, probabilities)
    xp = backend_for(probabilities).xp
    return -(y_true * xp.log(_clipped(probabilities))).sum() / probabilities.shape[0]


def categorical_cross_entropy_prime(y_true, probabilities):
    """d CE / d p = -y / p / N inside the clipping range, 0 where p was clipped (the clipped loss is flat there,
    as with Keras's clip)."""
    y_true = _targets("categorical_cross_entropy_prime", y_true, probabilities)
    xp = backend_for(probabilities).xp
    clipped = _clipped(probabilities)
    inside = clipped == probabilities
    gradient = -y_true / clipped * probabilities.dtype.type(1.0 / probabilities.shape[0])
    return xp.where(inside, gradient, probabilities.dtype.type(0))


categorical_cross_entropy.needs_one_hot = True
categorical_cross_entropy_prime.needs_one_hot = True

LOSSES["binary_cross_entropy"] = (binary_cross_entropy, binary_cross_entropy_prime)
LOSSES["categorical_cross_entropy"] = (categorical_cross_entropy, categorical_cross_entropy_prime)
