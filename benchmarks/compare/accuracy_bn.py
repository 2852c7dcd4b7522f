"""Test accuracy of ``batchnet.models.cnn_bn`` on Fashion-MNIST and MNIST, beside the same net in PyTorch.

The net: Conv(32, 3x3, pad 1) - BN - relu - MaxPool 2 - Dropout 0.25 -
Conv(64, 3x3, pad 1) - BN - relu - MaxPool 2 - Dropout 0.25 - FC128 - BN -
relu - Dropout 0.5 - FC10, softmax cross-entropy; Adam (lr 1e-3), batch 128,
a cosine schedule over the epochs (default 15), no augmentation unless
``--augment`` (each epoch, every training image shifted by up to 2 pixels
each way, zero-filled, and, for Fashion-MNIST only, mirrored left-right with
probability 1/2; drawn by NumPy from the seed, the same for both libraries). Both
libraries get the same settings and seed (each draws its own initial weights
and batch order from it: the same seed is not the same numbers across
libraries). Batch norm's momentum is Keras's 0.9, PyTorch's ``momentum=0.1``.

The test accuracy is printed after every epoch, flushed, so that a run
stopped early still says how far it got. Run from the repository root::

    .venv/bin/python -m benchmarks.compare.accuracy_bn --library batchnet --dataset fashion-mnist
    /tmp/torchvenv/bin/python -m benchmarks.compare.accuracy_bn --library torch --dataset fashion-mnist

Targets (issue 15): Fashion-MNIST >= 93.0%, MNIST >= 99.4%.
"""

import argparse
import gzip
import time
from pathlib import Path

import numpy as np

DATA_DIRS = {
    "fashion-mnist": Path("/usr/share/datasets/fashion-mnist"),
    # the project's copy, beside the repository
    "mnist": Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist",
}
SHIFT = 2  # --augment: the largest shift, in pixels
LEARNING_RATE = 1e-3
BATCH_SIZE = 128


def read_idx(path):
    """An IDX file (gzip) as a uint8 array; read here so the PyTorch run needs no batchnet."""
    with gzip.open(path, "rb") as file:
        data = file.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(dataset):
    """``(x_train, y_train, x_test, y_test)``: float32 NHWC images in [0, 1], int labels."""
    folder = DATA_DIRS[dataset]
    arrays = [read_idx(folder / f"{name}-ubyte.gz") for name in
              ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")]
    x_train, y_train, x_test, y_test = arrays
    scale = np.float32(1 / 255)
    return (x_train[..., None] * scale, y_train.astype(np.int64),
            x_test[..., None] * scale, y_test.astype(np.int64))


def shifted_and_mirrored(images, rng, mirror):
    """Each NHWC image shifted by up to SHIFT pixels each way (zero-filled); mirrored left-right at random."""
    count, height, width, _ = images.shape
    padded = np.pad(images, ((0, 0), (SHIFT, SHIFT), (SHIFT, SHIFT), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (height, width), axis=(1, 2))
    rows, cols = rng.integers(0, 2 * SHIFT + 1, (2, count))
    out = windows[np.arange(count), rows, cols].transpose(0, 2, 3, 1)  # (N, C, H, W) windows back to NHWC
    if mirror:
        flip = rng.random(count) < 0.5
        out[flip] = out[flip, :, ::-1]
    return np.ascontiguousarray(out)


def epochs_of_images(x_train, epochs, seed, augment, mirror):
    """The training images of each epoch: the same every epoch, or freshly shifted and mirrored."""
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        yield shifted_and_mirrored(x_train, rng, mirror) if augment else x_train


def cosine_rate(epoch, epochs):
    """The learning rate of 0-based ``epoch`` under cosine annealing to 0 over ``epochs``."""
    return LEARNING_RATE * (1 + np.cos(np.pi * epoch / epochs)) / 2


def run_batchnet(data, epochs, seed, threads, report, augment=False, mirror=False):
    from batchnet.models import cnn_bn
    from batchnet.optimizers import Adam

    x_train, y_train, x_test, y_test = data
    targets = np.eye(10, dtype=np.float32)[y_train]
    network = cnn_bn()  # its weights drawn as PyTorch's defaults draw them (uniform_fan_in)
    # one fit per epoch, so that each can get its own augmented images; one Adam throughout,
    # its rate set as CosineAnnealing(epochs) would
    adam = Adam(LEARNING_RATE)
    images = epochs_of_images(x_train, epochs, seed, augment, mirror)
    for epoch, x in enumerate(images):
        adam.learning_rate = cosine_rate(epoch, epochs)
        network.fit(x, targets, epochs=1, learning_rate=None, batch_size=BATCH_SIZE,
                              optimizer=adam, seed=seed + epoch, threads=threads, verbose=0)
        predicted = network.predict(x_test, threads=threads).argmax(axis=1)
        report(epoch + 1, network.history["loss"][-1], float(np.mean(predicted == y_test)))


def run_torch(data, epochs, seed, threads, report, augment=False, mirror=False):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    x_train, y_train, x_test, y_test = data
    # NCHW, PyTorch's layout
    images = epochs_of_images(x_train, epochs, seed, augment, mirror)
    x_test = torch.from_numpy(np.ascontiguousarray(x_test.transpose(0, 3, 1, 2)))
    y_train, y_test = torch.from_numpy(y_train), torch.from_numpy(y_test)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32, momentum=0.1, eps=1e-5), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64, momentum=0.1, eps=1e-5), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.BatchNorm1d(128, momentum=0.1, eps=1e-5), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(128, 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    loss_function = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    for epoch, x in enumerate(images, start=1):
        x_train = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start:start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = loss_function(model(x_train[rows]), y_train[rows])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        schedule.step()
        model.eval()
        with torch.no_grad():
            predicted = torch.cat([model(x_test[i:i + 500]).argmax(1) for i in range(0, len(x_test), 500)])
        report(epoch, total / len(order), float((predicted == y_test).float().mean()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", choices=("batchnet", "torch"), required=True)
    parser.add_argument("--dataset", choices=sorted(DATA_DIRS), required=True)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--augment", action="store_true",
                        help="shift each training image by up to 2 pixels each epoch (and mirror Fashion-MNIST's)")
    args = parser.parse_args()
    data = load(args.dataset)
    started = time.perf_counter()

    def report(epoch, loss, accuracy):
        print(f"{args.library} {args.dataset} epoch {epoch}/{args.epochs}: train loss {loss:.4f}, "
              f"test accuracy {accuracy:.4f}, {time.perf_counter() - started:.0f} s", flush=True)

    print(f"{args.library} cnn_bn on {args.dataset}: {args.epochs} epochs, adam lr {LEARNING_RATE}, "
          f"cosine, batch {BATCH_SIZE}, seed {args.seed}, {args.threads} thread(s), "
          f"{'shifts' + (' and mirrors' if args.dataset == 'fashion-mnist' else '') if args.augment else 'no augmentation'}",
          flush=True)
    runner = run_batchnet if args.library == "batchnet" else run_torch
    # digits are not mirror-symmetric; clothes are, left to right
    runner(data, args.epochs, args.seed, args.threads, report, args.augment, args.dataset == "fashion-mnist")


if __name__ == "__main__":
    main()
