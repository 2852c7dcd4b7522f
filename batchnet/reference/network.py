"""The tutorial's per-sample NeuralNetwork: ``add / use / fit / predict``, one sample per step."""

import numpy as np

from batchnet.reference.base import Layer


class NeuralNetwork:
    """A stack of reference layers trained by per-sample gradient descent, as the tutorial did.

    ``fit`` returns ``self`` and keeps each epoch's mean loss in ``self.losses``
    instead of printing it.
    """

    def __init__(self):
        self.layers = []
        self.loss = None
        self.loss_prime = None
        self.losses = []

    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"NeuralNetwork.add: expected a reference Layer, got {type(layer).__name__}")
        self.layers.append(layer)
        return self

    def use(self, loss, loss_prime):
        self.loss = loss
        self.loss_prime = loss_prime
        return self

    def forward(self, sample):
        for layer in self.layers:
            sample = layer.forward_propagation(sample)
        return sample

    def backward(self, error, learning_rate=None):
        """Backpropagate ``error``; with a learning rate every layer also takes its SGD step."""
        for layer in reversed(self.layers):
            error = layer.backward_propagation(error, learning_rate)
        return error

    def fit(self, x_train, y_train, epochs, learning_rate):
        if self.loss is None:
            raise RuntimeError("NeuralNetwork.fit: call use(loss, loss_prime) first")
        if len(x_train) != len(y_train):
            raise ValueError(f"NeuralNetwork.fit: x has {len(x_train)} samples but y has {len(y_train)}")
        for _ in range(epochs):
            total = 0.0
            for sample, target in zip(x_train, y_train):
                output = self.forward(sample)
                total += float(self.loss(target, output))
                self.backward(self.loss_prime(target, output), learning_rate)
            self.losses.append(total / len(x_train))
        return self

    def predict(self, input_data):
        """Every sample's output, stacked into one array ``(N, ...)``."""
        return np.stack([self.forward(sample) for sample in input_data])
