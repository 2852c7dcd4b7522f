"""Batch normalization by loops over the features: the oracle for
:class:`batchnet.layers.BatchNormalizationLayer`.

Batch statistics couple the samples, so unlike the other reference layers
this one takes the WHOLE batch, ``(N, features)`` or ``(N, H, W, C)``. Training
passes loop over the features (channels), computing each one's mean and
biased variance from its N (or N*H*W) values; the backward pass is Ioffe and
Szegedy's chain rule term by term (through the variance, then the mean), not
the compact formula the batched layer uses. Inference loops over the samples
and features with the running statistics, which training passes update as
``running = momentum * running + (1 - momentum) * batch`` (biased variance).
"""

import numpy as np

from batchnet.reference.base import Layer


class BatchNormalizationLayer(Layer):
    """``BatchNormalizationLayer(momentum, epsilon)`` over a whole batch; set ``training`` for batch statistics."""

    parameter_names = ("gamma", "beta")

    def __init__(self, momentum=0.9, epsilon=1e-5):
        super().__init__()
        self.momentum = momentum
        self.epsilon = epsilon
        self.training = False
        self.gamma = None
        self.beta = None
        self.running_mean = None
        self.running_var = None

    def forward(self, input_data):
        features = input_data.shape[-1]
        if self.gamma is None:
            self.gamma = np.ones(features, dtype=input_data.dtype)
            self.beta = np.zeros(features, dtype=input_data.dtype)
        if self.running_mean is None:
            self.running_mean = np.zeros(features, dtype=input_data.dtype)
            self.running_var = np.ones(features, dtype=input_data.dtype)
        self.used_batch_statistics = self.training
        if self.training:
            return self._forward_training(input_data)
        return self._forward_inference(input_data)

    def _forward_training(self, input_data):
        features = input_data.shape[-1]
        output = np.empty_like(input_data)
        self.means, self.variances = [], []
        for feature in range(features):
            values = input_data[..., feature]
            count = values.size
            mean = 0.0
            for value in values.flat:
                mean += value
            mean /= count
            variance = 0.0
            for value in values.flat:
                variance += (value - mean) ** 2
            variance /= count
            output[..., feature] = self.gamma[feature] * (values - mean) / np.sqrt(variance + self.epsilon) \
                + self.beta[feature]
            self.means.append(mean)
            self.variances.append(variance)
            self.running_mean[feature] = self.momentum * self.running_mean[feature] + (1 - self.momentum) * mean
            self.running_var[feature] = self.momentum * self.running_var[feature] + (1 - self.momentum) * variance
        return output

    def _forward_inference(self, input_data):
        output = np.empty_like(input_data)
        for sample in range(input_data.shape[0]):
            for index in np.ndindex(input_data.shape[1:]):
                feature = index[-1]
                value = input_data[(sample, *index)]
                normalized = (value - self.running_mean[feature]) / np.sqrt(self.running_var[feature] + self.epsilon)
                output[(sample, *index)] = self.gamma[feature] * normalized + self.beta[feature]
        return output

    def backward(self, output_error):
        output_error = self._checked_error(output_error)
        features = self.input.shape[-1]
        input_error = np.empty_like(output_error)
        gamma_gradient = np.zeros_like(self.gamma)
        beta_gradient = np.zeros_like(self.beta)
        for feature in range(features):
            x = self.input[..., feature]
            dy = output_error[..., feature]
            if self.used_batch_statistics:
                mean, variance = self.means[feature], self.variances[feature]
            else:
                mean, variance = self.running_mean[feature], self.running_var[feature]
            std = np.sqrt(variance + self.epsilon)
            normalized = (x - mean) / std
            gamma_gradient[feature] = np.sum(dy * normalized)
            beta_gradient[feature] = np.sum(dy)
            d_normalized = dy * self.gamma[feature]
            if not self.used_batch_statistics:
                input_error[..., feature] = d_normalized / std
                continue
            count = x.size
            # Ioffe & Szegedy (2015), algorithm 1's backward pass
            d_variance = np.sum(d_normalized * (x - mean)) * -0.5 * (variance + self.epsilon) ** -1.5
            d_mean = np.sum(-d_normalized / std) + d_variance * np.sum(-2 * (x - mean)) / count
            input_error[..., feature] = d_normalized / std + d_variance * 2 * (x - mean) / count + d_mean / count
        self.gradients = {"gamma": gamma_gradient, "beta": beta_gradient}
        return input_error
