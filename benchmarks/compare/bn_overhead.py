"""What batch norm and dropout add to a training step of the standard CNN.

Four nets on random MNIST-shaped float32 data, batch 128, Adam, one thread:
``standard_cnn`` (B: conv32-pool-conv64-pool-fc128-fc10), and ``cnn_bn``
(B with batch norm after each conv and the FC128, dropout after each pool
and the FC128) whole, without its dropout layers and without its batch
norms. The nets alternate run after run; each run trains ``--steps`` steps,
timed in CPU time (``time.process_time``: one thread, and a shared machine's
descheduling left out). The table gives the median ms per step and the ratio
to B (the issue's bound: cnn_bn at most 1.15)::

    .venv/bin/python -m benchmarks.compare.bn_overhead --repeats 7     # from the repository root
"""

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from batchnet import models
from batchnet.layers import BatchNormalizationLayer, DropoutLayer
from batchnet.network import NeuralNetwork

BATCH = 128


def without(kind):
    """``cnn_bn`` with its layers of type ``kind`` left out."""
    source = models.cnn_bn()
    network = NeuralNetwork(dtype=source.dtype)
    for layer in source.layers:
        if not isinstance(layer, kind):
            network.add(layer)
    return network.use(source.loss, source.loss_prime)


NETS = {
    "B (standard_cnn)": models.standard_cnn,
    "B + BN + dropout (cnn_bn)": models.cnn_bn,
    "B + BN": lambda: without(DropoutLayer),
    "B + dropout": lambda: without(BatchNormalizationLayer),
}


def seconds_per_step(network, x, y, steps):
    start = time.process_time()
    network.fit(x, y, epochs=1, batch_size=BATCH, optimizer="adam", learning_rate=1e-3, seed=0, threads=1,
                verbose=0, shuffle=False)
    return (time.process_time() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((args.steps * BATCH, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, len(x))]
    networks = {name: build() for name, build in NETS.items()}
    times = {name: [] for name in NETS}
    with threadpool_limits(1):
        for network in networks.values():  # a first, untimed run: weights drawn, buffers made
            seconds_per_step(network, x[:BATCH], y[:BATCH], 1)
        for _ in range(args.repeats):
            for name, network in networks.items():
                times[name].append(seconds_per_step(network, x, y, args.steps))
    base = statistics.median(times["B (standard_cnn)"])
    print(f"batch {BATCH}, float32, 1 thread, Adam; median of {args.repeats} alternating runs of {args.steps} steps")
    print(f"{'net':28} {'ms/step':>8} {'/ B':>6}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:28} {median * 1e3:8.1f} {median / base:6.3f}")


if __name__ == "__main__":
    main()
