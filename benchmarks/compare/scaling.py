"""How batchnet's cost grows with the batch and with the image: the standard CNN's samples/s and peak memory.

Two sweeps of the standard CNN (B: conv32-pool-conv64-pool-fc128-fc10,
softmax cross-entropy, SGD, float32) on synthetic square grey images:

- batch sizes 1, 2, 4, ..., 1024 at 28x28;
- image sizes 28, 56, 84, 112 at batch 64 (the FC layer grows with the image).

Each point runs in a fresh worker process (this script with ``--serve``), so
that its peak resident set size (``getrusage`` max RSS, which only ever
grows) belongs to that point alone: the worker records it after the imports
and the data, after predicting, and after training. Times are the median of
``--repeats`` runs of one pass over the worker's samples, in CPU time at one
thread (the default: other processes' load stays out of it), wall time with
``--threads`` above 1. The script writes
``scaling.csv`` and ``scaling.png`` into ``--output``, prints a table, and
states the log-log slopes: per-sample time against the batch size (0: the
cost is per sample; -1: it is per call) and time per sample against the
pixels (1: linear in the image's area)::

    .venv/bin/python -m benchmarks.compare.scaling --output /tmp/scaling
    .venv/bin/python -m benchmarks.compare.scaling --dry-run --output /tmp/scaling-toy
"""

import argparse
import importlib.util
import csv
import json
import math
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


BATCH_SIZES = [2**power for power in range(11)]
IMAGE_SIZES = [28, 56, 84, 112]
IMAGE_SWEEP_BATCH = 64
# each run passes over at least this many samples, so that batch 1 is timed over many calls
MIN_SAMPLES = 256
FIELDS = ["sweep", "batch_size", "image_size", "samples", "train_per_s", "predict_per_s",
          "rss_after_data_mib", "rss_peak_predict_mib", "rss_peak_train_mib"]


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def serve(batch_size, image_size, samples, repeats, threads):
    """Worker mode: time B at one point and print one JSON line (rates and peaks)."""
    from batchnet.models import standard_cnn

    rng = np.random.default_rng(0)
    x = rng.random((samples, image_size, image_size, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, samples)]
    model = standard_cnn(dtype="float32")
    facts = {"rss_after_data_mib": peak_rss_mib()}

    def fit():
        model.fit(x, y, 1, 0.01, batch_size=batch_size, verbose=0, seed=0, threads=threads)

    def predict():
        model.predict(x, batch_size=batch_size, threads=threads)

    # predict first: max RSS only grows, so its peak must be read before training's
    model.predict(x[:batch_size], batch_size=batch_size, threads=threads)
    # one thread: CPU time, which leaves out the descheduling of a shared machine
    clock = time.process_time if threads == 1 else time.perf_counter
    predict_seconds = timed(predict, repeats, clock)
    facts["rss_peak_predict_mib"] = peak_rss_mib()
    train_seconds = timed(fit, repeats, clock)
    facts["rss_peak_train_mib"] = peak_rss_mib()
    facts.update(train_per_s=samples / train_seconds, predict_per_s=samples / predict_seconds)
    print(json.dumps(facts), flush=True)


def timed(run, repeats, clock):
    seconds = []
    for _ in range(repeats):
        start = clock()
        run()
        seconds.append(clock() - start)
    return statistics.median(seconds)


def measure_point(sweep, batch_size, image_size, repeats, threads, min_samples):
    samples = batch_size * max(2, math.ceil(min_samples / batch_size))
    # the worker runs as a module from the repository root, as this script does
    command = [sys.executable, "-m", "benchmarks.compare.scaling", "--serve", str(batch_size), str(image_size),
               str(samples), str(repeats), str(threads)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    if result.returncode != 0:
        raise RuntimeError(f"scaling: the worker for batch {batch_size}, image {image_size} failed:\n"
                           f"{result.stderr}")
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    return dict(facts, sweep=sweep, batch_size=batch_size, image_size=image_size, samples=samples)


def log_log_slope(xs, ys):
    """The least-squares slope of log(y) against log(x)."""
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def statement(rows):
    """One paragraph: how per-sample time grows with the batch and time with the pixels."""
    batch = [row for row in rows if row["sweep"] == "batch"]
    image = [row for row in rows if row["sweep"] == "image"]
    sentences = []
    if len(batch) >= 2:
        sizes = [row["batch_size"] for row in batch]
        slopes = {task: log_log_slope(sizes, [1 / row[f"{task}_per_s"] for row in batch])
                  for task in ("train", "predict")}
        large = [row for row in batch if row["batch_size"] >= 32]
        flat = ""
        if len(large) >= 2:
            slope = {task: log_log_slope([row["batch_size"] for row in large],
                                         [1 / row[f"{task}_per_s"] for row in large]) for task in ("train", "predict")}
            steep = max(abs(value) for value in slope.values()) >= 0.15
            flat = (f" (batch >= 32 alone: {slope['train']:.2f} and {slope['predict']:.2f}: "
                    + ("per-call costs still matter there)" if steep else
                       "near 0, the cost there is per sample, the per-call overhead paid off)"))
        first, last = batch[0], batch[-1]
        sentences.append(
            f"Per-sample time falls with the batch as batch^{slopes['train']:.2f} in training and "
            f"batch^{slopes['predict']:.2f} in prediction over batch {sizes[0]}..{sizes[-1]}"
            f"{flat}; batch {last['batch_size']} trains "
            f"{last['train_per_s'] / first['train_per_s']:.1f}x and predicts "
            f"{last['predict_per_s'] / first['predict_per_s']:.1f}x as many samples/s as batch "
            f"{first['batch_size']}. Peak RSS goes from {first['rss_peak_train_mib']:.0f} to "
            f"{last['rss_peak_train_mib']:.0f} MiB in training "
            f"({(last['rss_peak_train_mib'] - first['rss_peak_train_mib']) / (last['batch_size'] - first['batch_size']) * 1024:.0f} KiB "
            f"more per sample of batch).")
    if len(image) >= 2:
        pixels = [row["image_size"] ** 2 for row in image]
        slopes = {task: log_log_slope(pixels, [1 / row[f"{task}_per_s"] for row in image])
                  for task in ("train", "predict")}
        sentences.append(
            f"At batch {image[0]['batch_size']}, time per sample grows as pixels^{slopes['train']:.2f} in "
            f"training and pixels^{slopes['predict']:.2f} in prediction from {image[0]['image_size']}^2 to "
            f"{image[-1]['image_size']}^2 (1.0 is linear in the area: every layer's work is per pixel, "
            f"the FC layer's weights included), and peak RSS from {image[0]['rss_peak_train_mib']:.0f} to "
            f"{image[-1]['rss_peak_train_mib']:.0f} MiB.")
    return " ".join(sentences)


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(10, 7))
    for column, (sweep, key) in enumerate((("batch", "batch_size"), ("image", "image_size"))):
        points = [row for row in rows if row["sweep"] == sweep]
        label = (f"batch size ({points[0]['image_size']}x{points[0]['image_size']})" if sweep == "batch"
                 else f"image side (batch {points[0]['batch_size']})")
        xs = [row[key] for row in points]
        for task in ("train", "predict"):
            axes[0, column].plot(xs, [row[f"{task}_per_s"] for row in points], "o-", label=task)
        axes[1, column].plot(xs, [row["rss_peak_train_mib"] for row in points], "o-", label="train")
        axes[1, column].plot(xs, [row["rss_peak_predict_mib"] for row in points], "o-", label="predict")
        for axis in axes[:, column]:
            axis.set_xscale("log", base=2)
            axis.set_xlabel(label)
            axis.legend()
            axis.grid(True, alpha=0.3)
        axes[0, column].set_yscale("log")
        axes[0, column].set_ylabel("samples/s")
        axes[1, column].set_ylabel("peak RSS (MiB)")
    figure.suptitle("batchnet, the standard CNN (batchnet.models.standard_cnn), float32, NumPy backend")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="folder for scaling.csv and scaling.png")
    parser.add_argument("--repeats", type=int, default=3, help="runs per point (median)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dry-run", action="store_true", help="two toy points per sweep, one run each")
    parser.add_argument("--serve", nargs=5, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(*args.serve)
        return
    if args.output is None:
        parser.error("--output DIR is required")
    if args.repeats < 1 or args.threads < 1:
        parser.error(f"--repeats and --threads must be at least 1, got {args.repeats} and {args.threads}")
    batch_sizes, image_sizes, image_batch, min_samples = BATCH_SIZES, IMAGE_SIZES, IMAGE_SWEEP_BATCH, MIN_SAMPLES
    if args.dry_run:
        batch_sizes, image_sizes, image_batch, min_samples, args.repeats = [1, 4], [28, 32], 4, 4, 1
    points = [("batch", size, 28) for size in batch_sizes] + [("image", image_batch, size) for size in image_sizes]
    print(f"{'sweep':5} {'batch':>5} {'image':>5} {'train/s':>9} {'predict/s':>10} {'RSS data':>9} "
          f"{'predict':>8} {'train':>8} (MiB)")
    rows = []
    for sweep, batch_size, image_size in points:
        row = measure_point(sweep, batch_size, image_size, args.repeats, args.threads, min_samples)
        rows.append(row)
        print(f"{sweep:5} {batch_size:5d} {image_size:5d} {row['train_per_s']:9.0f} {row['predict_per_s']:10.0f} "
              f"{row['rss_after_data_mib']:9.0f} {row['rss_peak_predict_mib']:8.0f} "
              f"{row['rss_peak_train_mib']:8.0f}", flush=True)
    args.output.mkdir(parents=True, exist_ok=True)
    with open(args.output / "scaling.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, FIELDS)
        writer.writeheader()
        writer.writerows({field: row[field] for field in FIELDS} for row in rows)
    print(statement(rows))
    if importlib.util.find_spec("matplotlib") is None:
        # the figures are the CSV and the table; the plot is their picture
        print(f"wrote {args.output / 'scaling.csv'}; no plot: matplotlib is not installed "
              "(pip install \"batchnet[plot]\")")
        return
    plot(rows, args.output / "scaling.png")
    print(f"wrote {args.output / 'scaling.csv'} and {args.output / 'scaling.png'}")


if __name__ == "__main__":
    main()
