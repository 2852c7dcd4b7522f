"""The losses (batchnet.losses): the mean of the per-sample losses, primes against finite differences,
and targets they cannot take refused, saying what the targets look like."""

import numpy as np
import pytest

import batchnet.losses as batched_losses
from batchnet import (
    FCLayer,
    FlattenLayer,
    NeuralNetwork,
    mse,
    mse_prime,
    one_hot,
    softmax_cross_entropy,
    softmax_cross_entropy_prime,
)
from batchnet import reference
from batchnet.gradient_check import numerical_gradient
from layer_checks import DIFFERENCE_ATOL, DIFFERENCE_RTOL, REFERENCE_ATOL, REFERENCE_RTOL


@pytest.fixture
def images():
    return np.random.default_rng(0).random((4, 6, 6, 1)).astype(np.float32)


@pytest.fixture
def labels():
    return one_hot(np.array([0, 1, 2, 1]), 3)


def dense_net(loss=mse, loss_prime=mse_prime):
    return NeuralNetwork().add(FlattenLayer()).add(FCLayer(3)).use(loss, loss_prime)


def fit_quietly(net, x, y):
    return net.fit(x, y, epochs=1, learning_rate=0.1, verbose=0)


def test_targets_of_the_wrong_width_name_both_shapes(images):
    with pytest.raises(ValueError, match=r"mse: expected targets of shape \(4, 3\) .*got \(4, 4\)"):
        fit_quietly(dense_net(), images, one_hot(np.array([0, 1, 2, 3]), 4))


@pytest.mark.parametrize(
    "targets", [np.array([0, 1, 2, 1]), np.array([[0], [1], [2], [1]])], ids=["(N,)", "(N, 1)"]
)
def test_softmax_cross_entropy_rejects_class_indices(targets, images):
    net = dense_net(softmax_cross_entropy, softmax_cross_entropy_prime)
    with pytest.raises(ValueError, match=r"softmax_cross_entropy needs one-hot targets \(N, classes\), "
                                         r"got shape \(4,( 1)?\); encode labels with batchnet.one_hot"):
        fit_quietly(net, images, targets)


def test_softmax_cross_entropy_rejects_soft_targets(images):
    soft = np.full((4, 3), 1 / 3, np.float32)
    net = dense_net(softmax_cross_entropy, softmax_cross_entropy_prime)
    with pytest.raises(ValueError, match="softmax_cross_entropy needs one-hot targets"):
        fit_quietly(net, images, soft)


def test_mse_with_class_indices_says_they_look_like_class_indices(images):
    with pytest.raises(ValueError, match=r"mse: expected targets of shape \(4, 3\) like the network output, "
                                         r"got \(4,\) \(labels look like class indices"):
        fit_quietly(dense_net(), images, np.array([0, 1, 2, 1]))


def test_mse_called_directly_with_class_indices_says_so():
    with pytest.raises(ValueError, match=r"got \(4,\) \(labels look like class indices: one-hot encode"):
        mse(np.zeros(4), np.zeros((4, 10)))


@pytest.mark.parametrize("name", ["mse", "softmax_cross_entropy"])
@pytest.mark.parametrize("batch", [1, 4])
def test_batched_loss_is_the_mean_of_per_sample_losses(backend, name, batch):
    rng = np.random.default_rng(12)
    y_pred = rng.standard_normal((batch, 5))
    y_true = np.eye(5)[rng.integers(0, 5, batch)]
    loss, loss_prime = getattr(batched_losses, name), getattr(batched_losses, f"{name}_prime")
    per_sample, per_sample_prime = getattr(reference, name), getattr(reference, f"{name}_prime")
    expected_loss = np.mean([per_sample(t, p) for t, p in zip(y_true, y_pred)])
    expected_gradient = np.stack([per_sample_prime(t, p) for t, p in zip(y_true, y_pred)]) / batch
    y_true_device, y_pred_device = backend.asarray(y_true), backend.asarray(y_pred)
    np.testing.assert_allclose(float(loss(y_true_device, y_pred_device)), expected_loss, rtol=REFERENCE_RTOL)
    np.testing.assert_allclose(backend.to_numpy(loss_prime(y_true_device, y_pred_device)),
                               expected_gradient, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


@pytest.mark.parametrize("name", ["mse", "softmax_cross_entropy"])
@pytest.mark.parametrize("batch", [1, 4])
def test_loss_prime_matches_finite_differences(backend, name, batch):
    rng = np.random.default_rng(6)
    y_true = backend.asarray(np.eye(5)[rng.integers(0, 5, batch)])
    y_pred = backend.asarray(2 * rng.standard_normal((batch, 5)))
    loss, loss_prime = getattr(batched_losses, name), getattr(batched_losses, f"{name}_prime")
    numeric = numerical_gradient(lambda: loss(y_true, y_pred), y_pred)
    np.testing.assert_allclose(backend.to_numpy(loss_prime(y_true, y_pred)), numeric,
                               rtol=DIFFERENCE_RTOL, atol=DIFFERENCE_ATOL, err_msg=f"{name}_prime vs differences")


def soft_targets(rng, batch, classes):
    """Non-negative target rows that sum to anything but 1 (label smoothing gone wrong, weighted samples)."""
    rows = rng.random((batch, classes))
    rows *= rng.uniform(0.2, 3.0, (batch, 1)) / rows.sum(axis=1, keepdims=True)
    assert not np.allclose(rows.sum(axis=1), 1)
    return rows


@pytest.mark.parametrize("batch", [1, 4])
def test_softmax_cross_entropy_prime_is_its_derivative_for_targets_not_summing_to_one(backend, batch):
    rng = np.random.default_rng(8)
    y_true = backend.asarray(soft_targets(rng, batch, 5))
    logits = backend.asarray(2 * rng.standard_normal((batch, 5)))
    numeric = numerical_gradient(lambda: softmax_cross_entropy(y_true, logits), logits)
    np.testing.assert_allclose(backend.to_numpy(softmax_cross_entropy_prime(y_true, logits)), numeric,
                               rtol=DIFFERENCE_RTOL, atol=DIFFERENCE_ATOL)


def test_reference_softmax_cross_entropy_prime_is_its_derivative_for_targets_not_summing_to_one():
    rng = np.random.default_rng(9)
    for y_true in soft_targets(rng, 3, 4):
        logits = 2 * rng.standard_normal(4)
        numeric = numerical_gradient(lambda: reference.softmax_cross_entropy(y_true, logits), logits)
        np.testing.assert_allclose(reference.softmax_cross_entropy_prime(y_true, logits), numeric,
                                   rtol=DIFFERENCE_RTOL, atol=DIFFERENCE_ATOL)
