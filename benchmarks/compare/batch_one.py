"""Batch 1: batchnet's fit and predict per sample against the tutorial's per-sample loop (``batchnet.reference``).

For networks A, B and C (see ``peer_common.py``) on random MNIST-shaped
float32 data, one thread, plain SGD: batchnet's ``fit(batch_size=1)`` and
``predict(batch_size=1)`` next to the reference network's ``fit`` and
``predict``, which take one sample per step by design. The two alternate run
after run, timed in CPU time (``time.process_time``: one thread, and a shared
machine's descheduling left out; cProfile uses the same clock); the table gives the median microseconds per sample and the speed-up
(reference time / batchnet time: above 1, batchnet is faster). ``--profile``
then runs batchnet's batch-1 fit under cProfile and prints the functions with
the most time of their own; ``--matmul`` times the small products a batch-1
step makes (``x.T @ g`` with an inner dimension of 1) with ``np.matmul`` and
with ``np.dot``::

    .venv/bin/python -m benchmarks.compare.batch_one --profile B --matmul
    .venv/bin/python -m benchmarks.compare.batch_one --dry-run
"""

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time

import numpy as np

from benchmarks.compare.peer_common import LEARNING_RATES, NETWORKS, synthetic_data

# samples per run (batchnet, reference): the reference's B convolves in Python loops
# (seconds per sample), so it gets very few; per-sample figures do not depend on the count
SAMPLES = {"A": (200, 60), "B": (100, 3), "C": (600, 600)}


def build_reference(network):
    """The per-sample reference twin of ``batchnet.models``' network ``network``."""
    from batchnet import reference as ref

    if network == "A":
        layers = [ref.ConvolutionalLayer(5, (3, 3), padding=(1, 1), stride=2), ref.ActivationLayer(ref.tanh, ref.tanh_prime),
                  ref.MaxPoolingLayer((2, 2), 2), ref.FlattenLayer(),
                  ref.FCLayer(100), ref.ActivationLayer(ref.tanh, ref.tanh_prime),
                  ref.FCLayer(50), ref.ActivationLayer(ref.tanh, ref.tanh_prime),
                  ref.FCLayer(10), ref.ActivationLayer(ref.softmax, ref.softmax_prime)]
        loss = (ref.mse, ref.mse_prime)
    elif network == "B":
        layers = [ref.ConvolutionalLayer(32, (3, 3), padding=(1, 1)), ref.ActivationLayer(ref.relu, ref.relu_prime),
                  ref.MaxPoolingLayer((2, 2), 2),
                  ref.ConvolutionalLayer(64, (3, 3), padding=(1, 1)), ref.ActivationLayer(ref.relu, ref.relu_prime),
                  ref.MaxPoolingLayer((2, 2), 2), ref.FlattenLayer(),
                  ref.FCLayer(128), ref.ActivationLayer(ref.relu, ref.relu_prime), ref.FCLayer(10)]
        loss = (ref.softmax_cross_entropy, ref.softmax_cross_entropy_prime)
    else:
        layers = [ref.FlattenLayer(), ref.FCLayer(100), ref.ActivationLayer(ref.tanh, ref.tanh_prime),
                  ref.FCLayer(50), ref.ActivationLayer(ref.tanh, ref.tanh_prime),
                  ref.FCLayer(10), ref.ActivationLayer(ref.tanh, ref.tanh_prime)]
        loss = (ref.mse, ref.mse_prime)
    model = ref.NeuralNetwork()
    for layer in layers:
        model.add(layer)
    return model.use(*loss)


def build_batched(network):
    from batchnet import models

    return {"A": models.tutorial_cnn, "B": models.standard_cnn, "C": models.tutorial_mlp}[network](dtype="float32")


class Pair:
    """A batchnet network and its reference twin, warmed up on the same samples."""

    def __init__(self, network, samples):
        self.samples = dict(zip(("batched", "reference"), samples))
        self.x, self.y, _ = synthetic_data(network, max(samples))
        self.batched, self.reference = build_batched(network), build_reference(network)
        self.fit("batched", 2)
        self.fit("reference", 2)
        self.predict("batched", 2)

    def fit(self, which, samples=None):
        samples = samples or self.samples[which]
        x, y = self.x[:samples], self.y[:samples]
        start = time.process_time()
        if which == "batched":
            self.batched.fit(x, y, 1, LEARNING_RATES["sgd"], batch_size=1, verbose=0, seed=0, threads=1)
        else:
            self.reference.fit(x, y, 1, LEARNING_RATES["sgd"])
        return (time.process_time() - start) / len(x)

    def predict(self, which, samples=None):
        x = self.x[:samples or self.samples[which]]
        start = time.process_time()
        if which == "batched":
            self.batched.predict(x, batch_size=1, threads=1)
        else:
            self.reference.predict(x)
        return (time.process_time() - start) / len(x)


def compare(network, samples, repeats):
    """Median seconds per sample ``{(which, task): value}``, batchnet and the reference alternating."""
    pair = Pair(network, samples)
    seconds = {(which, task): [] for which in ("batched", "reference") for task in ("fit", "predict")}
    for repeat in range(repeats):
        order = ("batched", "reference") if repeat % 2 == 0 else ("reference", "batched")
        for task in ("fit", "predict"):
            for which in order:
                seconds[which, task].append(getattr(pair, task)(which))
    return {key: statistics.median(values) for key, values in seconds.items()}


def profile(network, samples, top):
    """cProfile of batchnet's batch-1 fit: the ``top`` functions by their own time."""
    pair = Pair(network, samples)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    pair.fit("batched")
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    print(f"cProfile of fit(batch_size=1) on {network}, {samples[0]} samples "
          f"(tottime per sample = tottime / {samples[0]}):")
    stats.sort_stats("tottime").print_stats(top)
    print("\n".join(line for line in text.getvalue().splitlines() if line.strip()))


def seconds_per_call(run, repeats=2000):
    # Not named time_*: asv collects every time_* function under benchmarks/ as a benchmark.
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            run()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def matmul_experiment():
    """The weight gradients of a batch-1 step, ``x.T @ g`` (inner dimension 1), by matmul and by dot."""
    rng = np.random.default_rng(0)
    print(f"{'product':34} {'np.matmul us':>12} {'np.dot us':>10} {'np.outer us':>11}")
    for rows, columns in ((784, 100), (245, 100), (3136, 128), (100, 50), (128, 10), (288, 64)):
        x = rng.random((1, rows), dtype=np.float32)
        g = rng.random((1, columns), dtype=np.float32)
        results = [seconds_per_call(lambda: np.matmul(x.T, g)),
                   seconds_per_call(lambda: np.dot(x.T, g)),
                   seconds_per_call(lambda: np.outer(x, g))]
        assert np.allclose(np.matmul(x.T, g), np.dot(x.T, g)) and np.allclose(np.dot(x.T, g), np.outer(x, g))
        print(f"{f'({rows}, 1) @ (1, {columns}) float32':34} " + " ".join(
            f"{value * 1e6:{width}.1f}" for value, width in zip(results, (12, 10, 11))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=NETWORKS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples-scale", type=float, default=1.0, help="multiply the samples per run")
    parser.add_argument("--profile", choices=NETWORKS, help="cProfile batchnet's batch-1 fit on this network")
    parser.add_argument("--top", type=int, default=15, help="functions listed by --profile")
    parser.add_argument("--matmul", action="store_true", help="time x.T @ g with np.matmul and np.dot")
    parser.add_argument("--dry-run", action="store_true", help="4 samples, 1 repeat, profile A, no matmul")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.samples_scale <= 0:
        parser.error(f"--repeats must be >= 1 and --samples-scale positive, got {args.repeats}, {args.samples_scale}")
    sizes = {network: tuple(max(2, round(count * args.samples_scale)) for count in SAMPLES[network])
             for network in NETWORKS}
    if args.dry_run:
        sizes, args.repeats, args.profile, args.top, args.matmul = dict.fromkeys(NETWORKS, (4, 2)), 1, "A", 5, False
    print(f"batch 1, float32, 1 thread, SGD; median of {args.repeats} alternating runs, us per sample")
    print(f"{'net':3} {'samples':>7} {'fit batchnet':>12} {'fit loop':>9} {'speed-up':>8} "
          f"{'predict batchnet':>16} {'predict loop':>12} {'speed-up':>8}")
    for network in args.networks:
        seconds = compare(network, sizes[network], args.repeats)
        cells = []
        for task in ("fit", "predict"):
            ours, loop = seconds["batched", task], seconds["reference", task]
            cells.append(f"{ours * 1e6:{12 if task == 'fit' else 16}.0f} {loop * 1e6:{9 if task == 'fit' else 12}.0f} "
                         f"{loop / ours:8.2f}")
        print(f"{network:3} {'%d/%d' % sizes[network]:>7} " + " ".join(cells), flush=True)
    if args.profile:
        profile(args.profile, sizes[args.profile], args.top)
    if args.matmul:
        matmul_experiment()


if __name__ == "__main__":
    main()
