"""Per-sample losses ``loss(y_true, y_pred)`` and ``loss_prime(y_true, y_pred)`` for one sample.

The batched losses average over the batch, so for a batch of N samples their
gradient is these per-sample gradients divided by N.
"""

import numpy as np


def mse(y_true, y_pred):
    """The tutorial's mean squared error over the sample's n outputs: mean((y - y_hat)^2)."""
    return np.mean(np.power(y_true - y_pred, 2))


def mse_prime(y_true, y_pred):
    """d mse / d y_hat = 2 (y_hat - y) / n."""
    return 2 * (y_pred - y_true) / np.size(y_true)


def softmax_cross_entropy(y_true, logits):
    """-sum(y log softmax(z)) of one sample, from logits, with the log-sum-exp shift."""
    shifted = logits - logits.max()
    log_probabilities = shifted - np.log(np.sum(np.exp(shifted)))
    return -np.sum(y_true * log_probabilities)


def softmax_cross_entropy_prime(y_true, logits):
    """d CE / d z = softmax(z) - y."""
    exps = np.exp(logits - logits.max())
    return exps / np.sum(exps) - y_true
