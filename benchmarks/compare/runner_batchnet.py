"""batchnet's runner for ``compare_peers.py``: trains through ``NeuralNetwork.fit``, predicts through ``predict``."""

import time

from threadpoolctl import threadpool_limits

from benchmarks.compare.peer_common import LEARNING_RATES


def library_version():
    import batchnet

    return batchnet.__version__


class Runner:
    """One batchnet model (``batchnet.models``), built once and warmed up; times one epoch over ``x``."""

    def __init__(self, network, x, one_hot, labels, batch_size, threads, optimizer):
        from batchnet import Adam, models

        builders = {"A": models.tutorial_cnn, "B": models.standard_cnn, "C": models.tutorial_mlp}
        self.model = builders[network](dtype="float32")
        self.x, self.y = x, one_hot
        self.batch_size, self.threads = batch_size, threads
        # an Adam instance keeps its moments across fit calls, as a peer's optimizer object does
        self.optimizer = Adam(LEARNING_RATES["adam"]) if optimizer == "adam" else "sgd"
        self.learning_rate = LEARNING_RATES["sgd"] if optimizer == "sgd" else None
        self._fit(x[: 2 * batch_size], one_hot[: 2 * batch_size])

    def _fit(self, x, y):
        self.model.fit(x, y, 1, self.learning_rate, batch_size=self.batch_size, verbose=0,
                       seed=0, optimizer=self.optimizer, threads=self.threads)

    def parameter_count(self):
        return sum(int(layer.weights.size + layer.bias.size) for layer in self.model.layers
                   if getattr(layer, "weights", None) is not None)

    def train(self):
        start = time.perf_counter()
        self._fit(self.x, self.y)
        return time.perf_counter() - start

    def predict(self):
        with threadpool_limits(self.threads):
            start = time.perf_counter()
            self.model.predict(self.x, batch_size=self.batch_size, threads=self.threads)
            return time.perf_counter() - start
