"""Peak memory of a process training the standard CNN on Fashion-MNIST: batchnet next to PyTorch.

Each library trains in a fresh process of its own (this script with
``--serve``): it imports the library, loads the 60,000 Fashion-MNIST training
images as float32 in [0, 1], trains the standard CNN (network B of ``compare_torch.py``) with
plain SGD at ``--batch-size`` (256) for ``--steps`` steps (the whole epoch by
default), and reports its peak resident set size (``getrusage`` max RSS)
after the imports, after loading the data and after training. PyTorch is
measured only when the Python running this script has it. Run it as a module
from the repository root (batchnet and backends come from this checkout)::

    /tmp/torchvenv/bin/python -m benchmarks.compare.peak_memory               # both libraries
    .venv/bin/python -m benchmarks.compare.peak_memory --steps 20             # batchnet alone, quicker

Needs the Fashion-MNIST files (``apt-get install dataset-fashion-mnist``, or
``--data-dir``). Peak RSS is a property of one run: no repeats are needed,
but other processes do not disturb it either.
"""

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time

from .compare_torch import LEARNING_RATE, build_batchnet, build_torch


def peak_mib():
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve(library, batch_size, steps, threads, data_dir):
    """Child mode: train once and print the peaks as one JSON line."""
    import numpy as np

    if library == "torch":
        import torch
    else:
        import batchnet  # noqa: F401
    peaks = {"imports": peak_mib()}
    from batchnet.data.preprocessing import one_hot, scale_images
    from batchnet.data.mnist import load_fashion_mnist

    (images, labels), _ = load_fashion_mnist(data_dir, download=False)
    x = scale_images(images)[..., None]  # (N, 28, 28, 1) float32
    del images
    samples = len(x) if steps is None else min(len(x), steps * batch_size)
    peaks["data"] = peak_mib()
    start = time.perf_counter()
    if library == "torch":
        torch.manual_seed(0)
        torch.set_num_threads(threads)
        model, loss = build_torch("B")
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        inputs = torch.from_numpy(x.transpose(0, 3, 1, 2))  # a view: NCHW strides over the same memory
        targets = torch.from_numpy(labels.astype(np.int64))
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:samples]
        for first in range(0, samples, batch_size):
            rows = order[first:first + batch_size]
            optimizer.zero_grad()
            loss(model(inputs[rows]), targets[rows]).backward()
            optimizer.step()
    else:
        model = build_batchnet("B")
        model.fit(x[:samples], one_hot(labels[:samples], 10), 1, LEARNING_RATE,
                  batch_size=batch_size, verbose=0, seed=0, threads=threads)
    peaks["train"] = peak_mib()
    peaks["seconds"] = time.perf_counter() - start
    peaks["samples"] = samples
    print(json.dumps(peaks), flush=True)


def measure(library, args):
    # the worker imports as this script does: as a module, from the same working directory
    command = [sys.executable, "-m", "benchmarks.compare.peak_memory", "--serve", library,
               "--batch-size", str(args.batch_size), "--threads", str(args.threads)]
    if args.steps is not None:
        command += ["--steps", str(args.steps)]
    if args.data_dir is not None:
        command += ["--data-dir", args.data_dir]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"peak_memory: the {library} run failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: one epoch)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--serve", choices=["batchnet", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.batch_size, args.steps, args.threads, args.data_dir)
        return
    libraries = ["batchnet"] + (["torch"] if importlib.util.find_spec("torch") else [])
    print(f"network B, batch {args.batch_size}, {args.threads} threads, Fashion-MNIST train set, "
          f"peak RSS in MiB (getrusage)")
    print(f"{'library':10s} {'imports':>8s} {'+data':>8s} {'training':>9s} {'samples':>8s} {'seconds':>8s}")
    for library in libraries:
        peaks = measure(library, args)
        print(f"{library:10s} {peaks['imports']:8.0f} {peaks['data']:8.0f} {peaks['train']:9.0f} "
              f"{peaks['samples']:8d} {peaks['seconds']:8.1f}")


if __name__ == "__main__":
    main()
