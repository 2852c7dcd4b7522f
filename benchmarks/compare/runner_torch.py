"""PyTorch's runner for ``compare_peers.py``: NCHW ``nn.Sequential``, ``zero_grad / backward / step``."""

import time

import numpy as np

from benchmarks.compare.peer_common import ADAM_BETAS, ADAM_EPSILON, CROSS_ENTROPY, LEARNING_RATES


def library_version():
    import torch

    return torch.__version__


def build(network):
    """The PyTorch twin of ``network`` and its loss function."""
    import torch

    nn = torch.nn
    if network == "A":
        model = nn.Sequential(
            nn.Conv2d(1, 5, 3, stride=2, padding=1), nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(245, 100), nn.Tanh(), nn.Linear(100, 50), nn.Tanh(),
            nn.Linear(50, 10), nn.Softmax(dim=1),
        )
    elif network == "B":
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10),
        )
    else:
        model = nn.Sequential(
            nn.Linear(784, 100), nn.Tanh(), nn.Linear(100, 50), nn.Tanh(),
            nn.Linear(50, 10), nn.Tanh(),
        )
    return model, nn.CrossEntropyLoss() if CROSS_ENTROPY[network] else nn.MSELoss()


class Runner:
    def __init__(self, network, x, one_hot, labels, batch_size, threads, optimizer):
        import torch

        self.torch = torch
        torch.manual_seed(0)
        torch.set_num_threads(threads)
        self.model, self.loss = build(network)
        parameters = self.model.parameters()
        if optimizer == "adam":
            self.optimizer = torch.optim.Adam(parameters, lr=LEARNING_RATES["adam"], betas=ADAM_BETAS,
                                              eps=ADAM_EPSILON)
        else:
            self.optimizer = torch.optim.SGD(parameters, lr=LEARNING_RATES["sgd"])
        images = x.transpose(0, 3, 1, 2) if x.ndim == 4 else x
        self.x = torch.from_numpy(np.ascontiguousarray(images))
        # CrossEntropyLoss takes class indices, MSELoss the one-hot rows
        self.y = torch.from_numpy(labels if CROSS_ENTROPY[network] else one_hot)
        self.batch_size, self.threads = batch_size, threads
        self.generator = torch.Generator().manual_seed(0)
        self._train(2 * batch_size)

    def parameter_count(self):
        return sum(parameter.numel() for parameter in self.model.parameters())

    def _train(self, samples):
        order = self.torch.randperm(samples, generator=self.generator)
        for start in range(0, samples, self.batch_size):
            rows = order[start:start + self.batch_size]
            self.optimizer.zero_grad()
            self.loss(self.model(self.x[rows]), self.y[rows]).backward()
            self.optimizer.step()

    def train(self):
        self.torch.set_num_threads(self.threads)
        start = time.perf_counter()
        self._train(len(self.x))
        return time.perf_counter() - start

    def predict(self):
        self.torch.set_num_threads(self.threads)
        start = time.perf_counter()
        with self.torch.no_grad():
            outputs = [self.model(self.x[row:row + self.batch_size])
                       for row in range(0, len(self.x), self.batch_size)]
            self.torch.cat(outputs).numpy()
        return time.perf_counter() - start
