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
    """d CE / d z = softmax(z) * sum(y) - y (softmax(z) - y when y sums to 1)."""
    exps = np.exp(logits - logits.max())
    return exps / np.sum(exps) * np.sum(y_true) - y_true


def binary_cross_entropy(y_true, logits):
    """Mean over the sample's outputs of -y log s(z) - (1 - y) log(1 - s(z)), with
    log s(z) = -log(1 + e^-z) and log(1 - s(z)) = -log(1 + e^z) as logaddexp."""
    return np.mean(y_true * np.logaddexp(0, -logits) + (1 - y_true) * np.logaddexp(0, logits))


def binary_cross_entropy_prime(y_true, logits):
    """d BCE / d z = (sigmoid(z) - y) / n."""
    return (np.exp(-np.logaddexp(0, -logits)) - y_true) / np.size(y_true)


CATEGORICAL_EPSILON = 1e-7


def categorical_cross_entropy(y_true, probabilities):
    """-sum(y log p) of one sample, each p clipped to [eps, 1 - eps] in a loop."""
    total = 0.0
    for target, probability in zip(y_true.flat, probabilities.flat):
        total -= target * np.log(min(max(probability, CATEGORICAL_EPSILON), 1 - CATEGORICAL_EPSILON))
    return total


def categorical_cross_entropy_prime(y_true, probabilities):
    """d CE / d p = -y / p inside [eps, 1 - eps], 0 outside (the clipped loss is flat there)."""
    gradient = np.zeros_like(probabilities)
    for index in np.ndindex(probabilities.shape):
        if CATEGORICAL_EPSILON <= probabilities[index] <= 1 - CATEGORICAL_EPSILON:
            gradient[index] = -y_true[index] / probabilities[index]
    return gradient
