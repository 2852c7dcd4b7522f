"""Training the networks of ``batchnet.models``: the tutorial's MLP and CNN, a standard CNN.

``time_step`` is one mini-batch step (forward, loss gradient, backward, SGD
update); ``time_epoch_slice`` is ``fit`` over ``STEPS`` batches, the loop a
user runs, with its shuffling and bookkeeping; ``peakmem_step`` is the peak
memory of the first step. Data is synthetic MNIST (seeded), never downloaded.
"""

from .common import mnist_like, network

STEPS = 10
NETWORK_NAMES = ["tutorial_mlp", "tutorial_cnn", "standard_cnn"]
BATCH_SIZES = [32, 128]
DTYPES = ["float32", "float64"]


class Training:
    """Speed of training on the batched backends."""

    params = [NETWORK_NAMES, BATCH_SIZES, DTYPES, ["numpy", "cupy"]]
    param_names = ["network", "batch_size", "dtype", "implementation"]
    timeout = 300

    def setup(self, name, batch_size, dtype, implementation):
        self.net = network(name, implementation, dtype)
        self.images, self.labels = mnist_like(STEPS * batch_size, dtype)
        self.batch_size = batch_size
        # one step through fit binds the layers, draws the weights and sets the optimizer
        self.net.fit(self.images[:batch_size], self.labels[:batch_size], epochs=1,
                     learning_rate=0.01, batch_size=batch_size, verbose=0, seed=0)
        backend = self.net.backend
        self.batch = backend.asarray(self.images[:batch_size])
        self.batch_labels = backend.asarray(self.labels[:batch_size])
        backend.synchronize()

    def _step(self):
        output = self.net.forward(self.batch)
        self.net.backward(self.net.loss_prime(self.batch_labels, output))
        self.net.optimizer.step(self.net.layers)
        self.net.backend.synchronize()

    def time_step(self, name, batch_size, dtype, implementation):
        self._step()

    def time_epoch_slice(self, name, batch_size, dtype, implementation):
        self.net.fit(self.images, self.labels, epochs=1, learning_rate=0.01,
                     batch_size=self.batch_size, verbose=0, seed=0)
        self.net.backend.synchronize()


class TrainingMemory:
    """Peak host memory of the first training step (NumPy backend).

    ``setup`` builds the network and the data but runs nothing, because asv
    reads the peak over the whole process: ``peakmem_step`` minus
    ``peakmem_reference`` is what the step itself needed, weights included.
    """

    params = [NETWORK_NAMES, BATCH_SIZES, DTYPES]
    param_names = ["network", "batch_size", "dtype"]

    def setup(self, name, batch_size, dtype):
        self.net = network(name, "numpy", dtype)
        self.images, self.labels = mnist_like(batch_size, dtype)

    def peakmem_step(self, name, batch_size, dtype):
        self.net.fit(self.images, self.labels, epochs=1, learning_rate=0.01,
                     batch_size=batch_size, verbose=0, seed=0)

    def peakmem_reference(self, name, batch_size, dtype):
        pass
