"""The losses (batchnet/batched_losses.py): the mean of the per-sample losses, primes against finite differences."""

import numpy as np
import pytest

import batchnet.losses as batched_losses
from batchnet import reference
from batchnet.gradient_check import numerical_gradient
from layer_checks import DIFFERENCE_ATOL, DIFFERENCE_RTOL, REFERENCE_ATOL, REFERENCE_RTOL


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
