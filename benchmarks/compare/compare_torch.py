"""Training and inference speed of batchnet's NumPy backend next to PyTorch's CPU build.

Trains three networks (below: A, B, C) for a fixed number of steps, on random
MNIST-shaped float32 data, with batchnet and (when it is installed) PyTorch,
alternating the two libraries run after run, and prints the median samples/s
of each and their ratio per network, batch size and thread count:

- A, the tutorial's CNN: Conv(5, 3x3, stride 2, pad 1) -> tanh -> MaxPool 2 ->
  FC100 -> tanh -> FC50 -> tanh -> FC10 -> softmax, MSE;
- B, a standard small CNN: Conv(32, 3x3, pad 1) -> relu -> MaxPool 2 ->
  Conv(64, 3x3, pad 1) -> relu -> MaxPool 2 -> FC128 -> relu -> FC10,
  softmax cross-entropy;
- C, the tutorial's MLP: 784 -> 100 tanh -> 50 tanh -> 10 tanh, MSE.

Both libraries use plain SGD and their natural layout (NHWC for batchnet,
NCHW for PyTorch); batchnet trains through ``NeuralNetwork.fit`` (shuffling
included), PyTorch through the usual ``zero_grad / backward / step`` loop
over a shuffled order. Threads are set with ``fit(threads=...)``
(threadpoolctl) and ``torch.set_num_threads``. Each library runs in a worker
process of its own (this script with ``--serve``), the parent alternating
their runs.

PyTorch is a measuring stick, never a dependency of batchnet. Install it in a
separate environment and run the script as a module, from the repository
root, with that environment's Python: the root is then on ``sys.path``, so
batchnet and backends come from this checkout, installed or not::

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch==2.13.0 numpy threadpoolctl tqdm
    /tmp/torchvenv/bin/python -m benchmarks.compare.compare_torch             # both libraries
    .venv/bin/python -m benchmarks.compare.compare_torch --networks B          # batchnet alone

The extension ``backends._cpu_kernels`` must have been built in place
(``.venv/bin/pip install -e .``). Other processes sharing the machine make
single runs noisy: compare the ratios of one run, and repeat.
"""

import argparse
import importlib.metadata
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

LEARNING_RATE = 0.01
CLASSES = 10
INPUT_SHAPES = {"A": (28, 28, 1), "B": (28, 28, 1), "C": (784,)}
# enough steps that one run lasts a few tenths of a second at batch 128
DEFAULT_STEPS = {"A": 60, "B": 12, "C": 150}


def build_batchnet(network):
    """The batchnet model of ``network`` ("A", "B" or "C"), float32, with its loss."""
    from batchnet import (
        ActivationLayer, ConvolutionalLayer, FCLayer, FlattenLayer, MaxPoolingLayer, NeuralNetwork,
        mse, mse_prime, relu, relu_prime, softmax, softmax_cross_entropy,
        softmax_cross_entropy_prime, softmax_prime, tanh, tanh_prime,
    )

    model = NeuralNetwork(dtype="float32")
    if network == "A":
        layers = [
            ConvolutionalLayer(5, (3, 3), padding=1, stride=2), ActivationLayer(tanh, tanh_prime),
            MaxPoolingLayer((2, 2), 2), FlattenLayer(),
            FCLayer(100), ActivationLayer(tanh, tanh_prime),
            FCLayer(50), ActivationLayer(tanh, tanh_prime),
            FCLayer(10), ActivationLayer(softmax, softmax_prime),
        ]
        loss = (mse, mse_prime)
    elif network == "B":
        layers = [
            ConvolutionalLayer(32, (3, 3), padding=1), ActivationLayer(relu, relu_prime),
            MaxPoolingLayer((2, 2), 2),
            ConvolutionalLayer(64, (3, 3), padding=1), ActivationLayer(relu, relu_prime),
            MaxPoolingLayer((2, 2), 2), FlattenLayer(),
            FCLayer(128), ActivationLayer(relu, relu_prime), FCLayer(10),
        ]
        loss = (softmax_cross_entropy, softmax_cross_entropy_prime)
    else:
        layers = [
            FCLayer(100), ActivationLayer(tanh, tanh_prime),
            FCLayer(50), ActivationLayer(tanh, tanh_prime),
            FCLayer(10), ActivationLayer(tanh, tanh_prime),
        ]
        loss = (mse, mse_prime)
    for layer in layers:
        model.add(layer)
    return model.use(*loss)


def build_torch(network):
    """The PyTorch twin of ``network`` (NCHW) and its loss function."""
    import torch

    nn = torch.nn
    if network == "A":
        model = nn.Sequential(
            nn.Conv2d(1, 5, 3, stride=2, padding=1), nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(245, 100), nn.Tanh(), nn.Linear(100, 50), nn.Tanh(),
            nn.Linear(50, 10), nn.Softmax(dim=1),
        )
        loss = nn.MSELoss()
    elif network == "B":
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10),
        )
        loss = nn.CrossEntropyLoss()
    else:
        model = nn.Sequential(
            nn.Linear(784, 100), nn.Tanh(), nn.Linear(100, 50), nn.Tanh(),
            nn.Linear(50, 10), nn.Tanh(),
        )
        loss = nn.MSELoss()
    return model, loss


def synthetic_data(network, samples, seed=0):
    """Random MNIST-shaped inputs in [0, 1) and one-hot targets (NumPy, float32)."""
    rng = np.random.default_rng(seed)
    x = rng.random((samples,) + INPUT_SHAPES[network], dtype=np.float32)
    labels = rng.integers(0, CLASSES, samples)
    return x, np.eye(CLASSES, dtype=np.float32)[labels], labels


class BatchnetRunner:
    """Times training and prediction of one batchnet model (built once, warmed up)."""

    def __init__(self, network, x, y, batch_size, threads):
        self.model = build_batchnet(network)
        self.x, self.y = x, y
        self.batch_size, self.threads = batch_size, threads
        self.model.fit(x[: 2 * batch_size], y[: 2 * batch_size], 1, LEARNING_RATE,
                       batch_size=batch_size, verbose=0, seed=0, threads=threads)

    def train(self):
        start = time.perf_counter()
        self.model.fit(self.x, self.y, 1, LEARNING_RATE, batch_size=self.batch_size,
                       verbose=0, seed=0, threads=self.threads)
        return time.perf_counter() - start

    def predict(self):
        with threadpool_limits(self.threads):
            start = time.perf_counter()
            self.model.predict(self.x, batch_size=self.batch_size)
            return time.perf_counter() - start


class TorchRunner:
    """The same for the PyTorch twin: shuffled batches, plain SGD."""

    def __init__(self, network, x, labels, one_hot, batch_size, threads):
        import torch

        self.torch = torch
        torch.manual_seed(0)
        self.model, self.loss = build_torch(network)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LEARNING_RATE)
        images = x.transpose(0, 3, 1, 2) if x.ndim == 4 else x
        self.x = torch.from_numpy(np.ascontiguousarray(images))
        # CrossEntropyLoss takes class indices, MSELoss the one-hot rows
        target = labels if network == "B" else one_hot
        self.y = torch.from_numpy(target)
        self.batch_size, self.threads = batch_size, threads
        self.generator = torch.Generator().manual_seed(0)
        torch.set_num_threads(threads)
        self._train(2 * batch_size)

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


def serve(library, network, batch_size, threads, steps):
    """Worker mode: build one runner, then answer each "train" / "predict" line with seconds."""
    x, y, labels = synthetic_data(network, steps * batch_size)
    if library == "batchnet":
        runner = BatchnetRunner(network, x, y, batch_size, threads)
    else:
        runner = TorchRunner(network, x, labels, y, batch_size, threads)
    print("ready", flush=True)
    for line in sys.stdin:
        print(repr(getattr(runner, line.strip())()), flush=True)


class Worker:
    """One library's runner in a process of its own.

    In one process the two libraries would share a memory allocator and
    their thread pools would meet (PyTorch's OpenMP runtime, NumPy's
    OpenBLAS): apart, each runs as it would for its users.
    """

    def __init__(self, library, network, batch_size, threads, steps):
        # the worker imports as this script does: as a module, from the same working directory
        command = [sys.executable, "-m", "benchmarks.compare.compare_torch", "--serve", library, network,
                   str(batch_size), str(threads), str(steps)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        self._answer()

    def _answer(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"compare_torch: worker {self.process.args[4:]} exited "
                               f"with code {self.process.wait()}")
        return line.strip()

    def run(self, task):
        self.process.stdin.write(task + "\n")
        self.process.stdin.flush()
        return float(self._answer())

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def measure(network, batch_size, threads, steps, repeats, with_torch):
    """Median samples/s ``{(library, task): value}``, libraries alternating run by run."""
    libraries = ["batchnet", "torch"] if with_torch else ["batchnet"]
    workers = {library: Worker(library, network, batch_size, threads, steps) for library in libraries}
    seconds = {(library, task): [] for library in workers for task in ("train", "predict")}
    try:
        for repeat in range(repeats):
            # alternate which library goes first, so that neither always follows the other
            order = libraries if repeat % 2 == 0 else libraries[::-1]
            for task in ("train", "predict"):
                for library in order:
                    seconds[library, task].append(workers[library].run(task))
    finally:
        for worker in workers.values():
            worker.close()
    return {key: steps * batch_size / statistics.median(values) for key, values in seconds.items()}


def blas_report():
    """One line per thread pool: which BLAS / OpenMP library, kernel and thread count."""
    lines = []
    for pool in threadpool_info():
        lines.append(
            f"  {pool.get('internal_api')} {pool.get('version') or ''} "
            f"architecture={pool.get('architecture', '-')} num_threads={pool.get('num_threads')} "
            f"({Path(pool.get('filepath', '')).name})"
        )
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype:
        lines.append(
            f"  note: OPENBLAS_CORETYPE={coretype} forces OpenBLAS's {coretype} kernel "
            "(slower than the auto-detected one on AVX-512 machines); left as set"
        )
    else:
        lines.append("  OPENBLAS_CORETYPE is not set (OpenBLAS picked its kernel itself)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=["A", "B", "C"], choices=["A", "B", "C"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[128])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5, help="runs per library (median)")
    parser.add_argument("--steps-scale", type=float, default=1.0,
                        help="multiply the default steps per run (A 60, B 12, C 150)")
    parser.add_argument("--serve", nargs=5, help=argparse.SUPPRESS,
                        metavar=("LIBRARY", "NETWORK", "BATCH", "THREADS", "STEPS"))
    args = parser.parse_args(argv)
    if args.serve:
        library, network, batch_size, threads, steps = args.serve
        serve(library, network, int(batch_size), int(threads), int(steps))
        return

    import batchnet
    from backends import get_backend

    with_torch = importlib.util.find_spec("torch") is not None
    print(f"batchnet {batchnet.__version__}, numpy {np.__version__}, "
          f"kernels {get_backend('numpy').kernels()}")
    print(f"torch {importlib.metadata.version('torch')} (measured in its own process)" if with_torch
          else "torch not installed: batchnet figures only")
    print(f"cpus {os.cpu_count()}; batchnet's BLAS / thread pools:")
    with threadpool_limits(max(args.threads)):
        print(blas_report())
    header = (f"{'net':3} {'batch':>5} {'thr':>3} {'task':8} {'batchnet/s':>11} "
              f"{'torch/s':>9} {'ratio':>6}")
    print(header)
    for network in args.networks:
        steps = max(2, round(DEFAULT_STEPS[network] * args.steps_scale))
        for batch_size in args.batch_sizes:
            for threads in args.threads:
                rates = measure(network, batch_size, threads, steps, args.repeats, with_torch)
                for task in ("train", "predict"):
                    ours = rates["batchnet", task]
                    theirs = rates.get(("torch", task))
                    line = f"{network:3} {batch_size:5d} {threads:3d} {task:8} {ours:11.0f}"
                    if theirs is not None:
                        line += f" {theirs:9.0f} {ours / theirs:6.2f}"
                    print(line, flush=True)


if __name__ == "__main__":
    main()
