"""Training and inference speed of batchnet next to PyTorch, TensorFlow and JAX on the CPU.

Trains networks A, B and C (see ``peer_common.py``) for a fixed number of
steps on random MNIST-shaped float32 data, and predicts the same data, with
batchnet and with every peer whose Python is given, each library in a worker
process of its own (``peer_worker.py``), the libraries alternating run after
run (the first one rotating), and prints one table: the median samples/s of
each library and each peer's ratio to batchnet (peer / batchnet: above 1, the
peer is faster), per network, batch size, thread count and task.

Peers are measuring sticks, never dependencies: each lives in a virtual
environment of its own, and only its worker imports it::

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu numpy
    python3 -m venv /tmp/jaxvenv && /tmp/jaxvenv/bin/pip install jax numpy
    .venv/bin/python -m benchmarks.compare.compare_peers --torch /tmp/torchvenv/bin/python \\
        --tensorflow /tmp/tfvenv/bin/python --jax /tmp/jaxvenv/bin/python

``--dry-run`` runs every code path at toy sizes (batch 4, 2 steps, 2 repeats)
with whichever peers are given. Every worker reports its network's parameter
count, and a count that differs from batchnet's stops the script: a faster
peer that trains a different network measures nothing. Other processes
sharing the machine make single runs noisy: compare the ratios of one run.
"""

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.compare.peer_common import DEFAULT_STEPS, NETWORKS, PARAMETER_COUNTS

# workers run as modules from the repository root, as this script does
ROOT = Path(__file__).resolve().parents[2]
WORKER = ["-m", "benchmarks.compare.peer_worker"]

PEERS = ("torch", "tensorflow", "jax")
TASKS = ("train", "predict")


class Worker:
    """One library's runner (``peer_worker.py``) in a process of its own, under that library's Python."""

    def __init__(self, python, library, network, batch_size, threads, steps, optimizer):
        self.library = library
        command = [python, *WORKER, library, network, str(batch_size),
                   str(threads), str(steps), optimizer]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        cwd=ROOT)
        ready = self._answer()
        if not ready.startswith("ready "):
            raise RuntimeError(f"compare_peers: {library} worker said {ready!r} instead of 'ready'")
        import json

        self.facts = json.loads(ready[len("ready "):])
        expected = PARAMETER_COUNTS[network]
        if self.facts["parameters"] != expected:
            self.close()
            raise RuntimeError(f"compare_peers: {library}'s network {network} has "
                               f"{self.facts['parameters']} parameters, expected {expected}")

    def _answer(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"compare_peers: {self.library} worker {self.process.args[2:]} exited "
                               f"with code {self.process.wait()} (its error is above)")
        return line.strip()

    def run(self, task):
        self.process.stdin.write(task + "\n")
        self.process.stdin.flush()
        return float(self._answer())

    def close(self):
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        self.process.wait()


def probe(python, library):
    """The version of ``library`` under ``python``, or ``None`` and the reason it cannot run there."""
    result = subprocess.run([python, *WORKER, "--probe", library], capture_output=True, text=True,
                            cwd=ROOT)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return None, f"{python} cannot run {library}: {last}"
    return result.stdout.strip(), None


def measure(pythons, network, batch_size, threads, steps, repeats, optimizer):
    """Median samples/s ``{(library, task): value}``; the library going first rotates run by run."""
    libraries = list(pythons)
    workers = {}
    try:
        for library in libraries:
            workers[library] = Worker(pythons[library], library, network, batch_size, threads, steps,
                                      optimizer)
        seconds = {(library, task): [] for library in libraries for task in TASKS}
        for repeat in range(repeats):
            shift = repeat % len(libraries)
            order = libraries[shift:] + libraries[:shift]
            for task in TASKS:
                for library in order:
                    seconds[library, task].append(workers[library].run(task))
    finally:
        for worker in workers.values():
            worker.close()
    return {key: steps * batch_size / statistics.median(values) for key, values in seconds.items()}


def table_header(peers):
    header = f"{'net':3} {'batch':>5} {'thr':>3} {'task':7} {'batchnet/s':>10}"
    for peer in peers:
        header += f" {peer + '/s':>12} {'ratio':>6}"
    return header


def table_row(network, batch_size, threads, task, rates, peers):
    ours = rates["batchnet", task]
    row = f"{network:3} {batch_size:5d} {threads:3d} {task:7} {ours:10.0f}"
    for peer in peers:
        theirs = rates[peer, task]
        row += f" {theirs:12.0f} {theirs / ours:6.2f}"
    return row


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for peer in PEERS:
        parser.add_argument(f"--{peer}", metavar="PYTHON", help=f"the Python of a venv that has {peer}")
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=NETWORKS)
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[32, 128, 512])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5, help="runs per library and task (median)")
    parser.add_argument("--steps-scale", type=float, default=1.0,
                        help="multiply the default steps per run (A 60, B 12, C 150)")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--dry-run", action="store_true",
                        help="every code path at toy sizes: batch 4, 1 thread, 2 steps, 2 repeats")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.batch_sizes, args.threads, args.repeats = [4], [1], 2
    for name in ("repeats", "steps_scale"):
        if not getattr(args, name) > 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    return args


def main(argv=None):
    args = parse_arguments(argv)
    pythons = {"batchnet": sys.executable}
    version, reason = probe(sys.executable, "batchnet")
    if version is None:
        raise SystemExit(f"compare_peers: {reason}")
    print(f"batchnet {version} ({sys.executable}); optimizer {args.optimizer}, float32, "
          f"median of {args.repeats}")
    for peer in PEERS:
        python = getattr(args, peer)
        if python is None:
            continue
        version, reason = probe(python, peer)
        if version is None:
            print(f"{peer}: skipped, {reason}")
            continue
        pythons[peer] = python
        print(f"{peer} {version} ({python})")
    peers = [library for library in pythons if library != "batchnet"]
    print(table_header(peers), flush=True)
    for network in args.networks:
        steps = 2 if args.dry_run else max(2, round(DEFAULT_STEPS[network] * args.steps_scale))
        for batch_size in args.batch_sizes:
            for threads in args.threads:
                rates = measure(pythons, network, batch_size, threads, steps, args.repeats, args.optimizer)
                for task in TASKS:
                    print(table_row(network, batch_size, threads, task, rates, peers), flush=True)


if __name__ == "__main__":
    main()
