"""Training speed on a GPU: batchnet on CuPy next to PyTorch CUDA, and batchnet on the CPU.

One run prints one markdown table of training samples/s (float32) for the
tutorial's CNN and the standard CNN (conv32-pool-conv64-pool-fc128-fc10), at
batch 128 and 1024:

- batchnet on the ``cupy`` backend, trained through ``NeuralNetwork.fit``
  (input checks and the one upload of the training set per ``fit`` included);
- PyTorch on the same GPU, the usual ``zero_grad / backward / step`` loop over
  a shuffled order, the training set uploaded once per run as well, with
  ``cudnn.benchmark`` on and TF32 off (CuPy does not use TF32 either), so both
  do float32 arithmetic;
- batchnet on the ``numpy`` backend with ``--cpu-threads`` BLAS threads (2: the
  project's CPU machine), for the GPU / CPU speed-up.

The networks are ``batchnet.models`` and their PyTorch twins from
``compare_torch.py``; data is random and MNIST-shaped (nothing downloaded).
Each figure is the median of ``--repeats`` runs after a warm-up run (kernel
compilation, cuDNN autotuning).

After the table comes where batchnet-CuPy's training step of the standard CNN
spends its time, at each batch size: every layer's forward and backward, the
loss and the update, each timed on its own with the device synchronized before
and after (launches and device work together), so that a missed target says
which part to work on. Run it as a module from the repository root with the
Python that has CuPy and PyTorch (batchnet comes from this checkout; build the
extension first, ``pip install -e .``)::

    python -m benchmarks.compare.gpu_vs_torch
    python -m benchmarks.compare.gpu_vs_torch --cpu-only   # the CPU column alone, no GPU needed
    python -m benchmarks.compare.gpu_vs_torch --dry-run    # every code path at toy sizes on the CPU

``--dry-run`` checks the script itself before device time is spent on it:
NumPy stands in for CuPy and PyTorch runs on the CPU, on a few tiny batches,
so its figures mean nothing.

Exit status: 0 with a full table; 2 when the cupy backend cannot run here (the
reason is printed); 3 when the table has no PyTorch column (no PyTorch, or one
without CUDA).
"""

import argparse
import statistics
import sys
import time

import numpy as np

LEARNING_RATE = 0.01
NETWORKS = {"tutorial": "tutorial CNN", "standard": "standard CNN"}
TORCH_NAMES = {"tutorial": "A", "standard": "B"}  # compare_torch.build_torch's names
# samples per timed run: a few tenths of a second on the GPU, a few seconds on 2 CPU cores
GPU_SAMPLES_PER_EPOCH = 16384
CPU_SAMPLES = 512


def synthetic_data(samples, seed=0):
    """Random MNIST-shaped images (N, 28, 28, 1) in [0, 1), class labels and one-hot rows."""
    rng = np.random.default_rng(seed)
    images = rng.random((samples, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, 10, samples)
    return images, labels, np.eye(10, dtype=np.float32)[labels]


def median_rate(run, samples, repeats):
    """Samples per second of ``run()`` (which returns when its work is done), median of ``repeats``."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return samples / statistics.median(seconds)


def batchnet_rate(network, backend, batch_size, steps, epochs, repeats, threads=None):
    """Training samples/s of a ``batchnet.models`` network on ``backend`` through ``fit``."""
    from batchnet import models

    model = getattr(models, f"{network}_cnn")(backend=backend, dtype="float32")
    images, _, one_hot = synthetic_data(steps * batch_size)
    options = dict(batch_size=batch_size, verbose=0, seed=0, threads=threads)
    model.fit(images[:batch_size], one_hot[:batch_size], 1, LEARNING_RATE, **options)

    def train():
        model.fit(images, one_hot, epochs, LEARNING_RATE, **options)
        model.backend.synchronize()

    return median_rate(train, len(images) * epochs, repeats)


def torch_rate(torch, network, batch_size, steps, epochs, repeats, device="cuda"):
    """Training samples/s of the PyTorch twin on ``device`` (the GPU; the CPU in a dry run)."""
    from .compare_torch import build_torch

    device = torch.device(device)
    torch.manual_seed(0)
    model, loss = build_torch(TORCH_NAMES[network])
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    images, labels, one_hot = synthetic_data(steps * batch_size)
    images = np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    # CrossEntropyLoss takes class indices, MSELoss the one-hot rows
    targets = labels if network == "standard" else one_hot

    def train(samples=len(images), epochs=epochs):
        x = torch.from_numpy(images[:samples]).to(device)
        y = torch.from_numpy(targets[:samples]).to(device)
        for _ in range(epochs):
            order = torch.randperm(samples, device=device)
            for start in range(0, samples, batch_size):
                rows = order[start:start + batch_size]
                optimizer.zero_grad(set_to_none=True)
                loss(model(x[rows]), y[rows]).backward()
                optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    train(2 * batch_size, 1)
    return median_rate(train, len(images) * epochs, repeats)


def step_breakdown(network, backend, batch_size, repeats):
    """Median seconds of each part of one ``fit`` step, timed alone: ``[(part, seconds), ...]``.

    The parts are those of ``NeuralNetwork.fit``'s step: each layer's forward,
    the loss and its gradient, each layer's backward (back to the first layer
    with parameters, which computes no input error) and the SGD update.
    """
    from batchnet import models
    from batchnet.network import backward_parameters
    from batchnet.optimizers import SGD

    model = getattr(models, f"{network}_cnn")(backend=backend, dtype="float32")
    images, _, one_hot = synthetic_data(batch_size)
    model.fit(images, one_hot, 1, LEARNING_RATE, batch_size=batch_size, verbose=0, seed=0)  # builds
    x, y = model.backend.asarray(images), model.backend.asarray(one_hot)
    layers, optimizer, synchronize = model.layers, SGD(LEARNING_RATE), model.backend.synchronize
    first_trained = next(index for index, layer in enumerate(layers) if layer.parameter_names)
    seconds = {}

    def timed(part, work, *arguments, **keywords):
        synchronize()
        start = time.perf_counter()
        result = work(*arguments, **keywords)
        synchronize()
        seconds.setdefault(part, []).append(time.perf_counter() - start)
        return result

    for layer in layers:
        layer.reuse_buffers = True  # as in fit
    try:
        for _ in range(repeats + 1):  # the first round warms up
            output = x
            for index, layer in enumerate(layers):
                output = timed(f"{index} {layer.name} forward", layer.forward_propagation, output)
            timed("loss", model.loss, y, output)
            error = timed("loss gradient", model.loss_prime, y, output)
            for index in range(len(layers) - 1, first_trained, -1):
                error = timed(f"{index} {layers[index].name} backward", layers[index].backward, error)
            timed(f"{first_trained} {layers[first_trained].name} backward", backward_parameters,
                  layers[first_trained:first_trained + 1], error)
            timed("SGD update", optimizer.step, layers)
    finally:
        for layer in layers:
            layer.reuse_buffers = False
    return [(part, statistics.median(times[1:])) for part, times in seconds.items()]


def breakdown_table(parts, step_seconds):
    """Markdown rows of ``step_breakdown``, with each part's share of their sum."""
    total = sum(seconds for _, seconds in parts)
    lines = ["| part | ms | share |", "|---|---:|---:|"]
    lines += [f"| {part} | {seconds * 1e3:.3f} | {seconds / total:.0%} |" for part, seconds in parts]
    lines.append(f"| sum of the parts, timed alone | {total * 1e3:.3f} | |")
    lines.append(f"| a step inside fit (from the table's rate) | {step_seconds * 1e3:.3f} | |")
    return "\n".join(lines)


def load_torch(need_cuda=True):
    """``(torch, None)`` when PyTorch can use the GPU (or is there, without ``need_cuda``), else ``(None, reason)``."""
    try:
        import torch
    except ImportError as error:
        return None, f"PyTorch is not installed ({error})"
    if need_cuda and not torch.cuda.is_available():
        return None, f"PyTorch {torch.__version__} cannot use CUDA here"
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    return torch, None


def _rate(value):
    return "n/a" if value is None else f"{value:,.0f}"


def _ratio(numerator, denominator, suffix=""):
    if numerator is None or denominator is None:
        return "n/a"
    return f"{numerator / denominator:.2f}{suffix}"


def markdown_table(rows, cpu_threads):
    lines = [
        f"| network | batch | batchnet CuPy | PyTorch CUDA | batchnet / PyTorch "
        f"| batchnet CPU ({cpu_threads} threads) | CuPy / CPU |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {NETWORKS[row['network']]} | {row['batch']} | {_rate(row['cupy'])} "
            f"| {_rate(row['torch'])} | {_ratio(row['cupy'], row['torch'])} "
            f"| {_rate(row['cpu'])} | {_ratio(row['cupy'], row['cpu'], '×')} |"
        )
    return "\n".join(lines)


def verdicts(rows):
    """The two GPU targets (within 2x of PyTorch, 20x batchnet on the CPU), on the standard CNN
    at batch 1024, where measured."""
    lines = []
    for row in rows:
        if row["network"] != "standard" or row["batch"] != 1024:
            continue
        if row["cupy"] and row["torch"]:
            ratio = row["cupy"] / row["torch"]
            lines.append(f"- within 2× of PyTorch (batchnet / PyTorch >= 0.5): "
                         f"{'yes' if ratio >= 0.5 else 'no'} ({ratio:.2f})")
        if row["cupy"] and row["cpu"]:
            speedup = row["cupy"] / row["cpu"]
            lines.append(f"- at least 20× batchnet on the CPU: "
                         f"{'yes' if speedup >= 20 else 'no'} ({speedup:.1f}×)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[128, 1024])
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed GPU run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure (median)")
    parser.add_argument("--cpu-threads", type=int, default=2)
    parser.add_argument("--cpu-only", action="store_true", help="measure batchnet on the CPU alone")
    parser.add_argument("--no-cpu", action="store_true", help="skip the (slow) CPU column")
    parser.add_argument("--dry-run", action="store_true",
                        help="every code path at toy sizes on the CPU (NumPy stands in for CuPy); measures nothing")
    args = parser.parse_args(argv)
    gpu_backend, torch_device = "cupy", "cuda"
    samples_per_epoch, cpu_samples = GPU_SAMPLES_PER_EPOCH, CPU_SAMPLES
    if args.dry_run:
        gpu_backend, torch_device = "numpy", "cpu"
        samples_per_epoch, cpu_samples = 64, 32
        args.batch_sizes, args.epochs, args.repeats, args.cpu_only = [16, 32], 1, 1, False

    import backends

    gpu_reason = None if args.cpu_only or args.dry_run else backends.cupy_unavailable_reason()
    if gpu_reason is not None:
        print(f"gpu_vs_torch: batchnet's cupy backend cannot run here: {gpu_reason}.\n"
              "Run it on a machine with an NVIDIA GPU and CuPy, or with --cpu-only "
              "for the CPU column alone.", file=sys.stderr)
        return 2
    torch, torch_reason = (None, "--cpu-only") if args.cpu_only else load_torch(not args.dry_run)
    if torch_reason is not None and not args.cpu_only:
        print(f"gpu_vs_torch: {torch_reason}: the table has no PyTorch column.", file=sys.stderr)

    header = [f"numpy {np.__version__}", f"CPU kernels {backends.get_backend('numpy').kernels()}"]
    if args.dry_run:
        header.insert(0, "DRY RUN: NumPy in the CuPy column, PyTorch on the CPU, toy sizes; the figures mean nothing")
    elif not args.cpu_only:
        import cupy

        device = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"].decode()
        header.insert(0, f"GPU {device}, CuPy {cupy.__version__}")
    if torch is not None:
        header.append(f"PyTorch {torch.__version__} (cuDNN benchmark on, TF32 off)")
    print("Training samples/s, float32, random MNIST-shaped data: " + "; ".join(header) + "\n")

    rows = []
    for network in args.networks:
        for batch_size in args.batch_sizes:
            steps = max(2, samples_per_epoch // batch_size)
            row = {"network": network, "batch": batch_size, "cupy": None, "torch": None, "cpu": None}
            if not args.cpu_only:
                row["cupy"] = batchnet_rate(network, gpu_backend, batch_size, steps, args.epochs, args.repeats)
            if torch is not None:
                row["torch"] = torch_rate(torch, network, batch_size, steps, args.epochs, args.repeats,
                                          torch_device)
            if not args.no_cpu:
                row["cpu"] = batchnet_rate(network, "numpy", batch_size,
                                           max(1, cpu_samples // batch_size), 1,
                                           min(args.repeats, 2), threads=args.cpu_threads)
            rows.append(row)
            print(f"  measured {NETWORKS[network]}, batch {batch_size}", file=sys.stderr, flush=True)

    print(markdown_table(rows, args.cpu_threads))
    targets = verdicts(rows)
    if targets:
        print("\nStandard CNN, batch 1024:\n" + targets)
    if not args.cpu_only and "standard" in args.networks:
        for row in rows:
            if row["network"] == "standard":
                parts = step_breakdown("standard", gpu_backend, row["batch"], args.repeats)
                print(f"\nWhere batchnet's training step of the standard CNN spends its time, batch {row['batch']} "
                      f"({gpu_backend} backend, median of {args.repeats}):\n")
                print(breakdown_table(parts, row["batch"] / row["cupy"]))
    return 3 if torch_reason is not None and not args.cpu_only else 0


if __name__ == "__main__":
    sys.exit(main())
