"""Argument types and the options several commands share.

A type refuses a bad value with argparse's message and exit status 2, naming
what it expected and what came, before any work is done.
"""

import argparse
from pathlib import Path

from batchnet.saving.atomic import names_a_folder

DATASETS = ("mnist", "fashion-mnist")
BACKENDS = ("numpy", "cupy", "auto")


def add_backend_arguments(parser, dtype_default="float32"):
    parser.add_argument("--backend", choices=BACKENDS, help="default: $BATCHNET_BACKEND or numpy")
    parser.add_argument("--dtype", choices=("float32", "float64"), default=dtype_default)


def add_threads_argument(parser):
    parser.add_argument("--threads", type=positive_int,
                        help="CPU threads (default: as many as BLAS uses); a large batch runs "
                             "as one shard per thread")


def add_data_arguments(parser):
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="the folder holding the four IDX files, and no other (default: "
                             "$BATCHNET_DATA, the cache, ...)")


def add_verbosity(parser):
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2),
                        help="0 quiet, 1 a progress bar per epoch, 2 one line per epoch (default: 1 on a "
                             "terminal, else 2)")


SCHEDULES = ("none", "step", "exponential", "cosine", "plateau")


def add_training_controls(parser):
    """``--schedule`` and ``--early-stopping``: the learning-rate schedule and when to stop (``train``)."""
    parser.add_argument("--schedule", choices=SCHEDULES, default="none",
                        help="learning-rate schedule from --lr: step (x0.1 every max(1, epochs // 3) epochs), "
                             "exponential (x0.9 each epoch), cosine (down to 0 over --epochs), plateau "
                             "(x0.1 after 5 epochs without a better val_loss, or loss without "
                             "--validation-split); default none")
    parser.add_argument("--early-stopping", type=non_negative_int, metavar="PATIENCE",
                        help="stop once val_loss has not improved for more than PATIENCE epochs and keep the "
                             "weights of the best epoch (needs --validation-split > 0)")


def positive_int(text):
    value = _parse(int, text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def non_negative_int(text):
    value = _parse(int, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text}")
    return value


def positive_float(text):
    value = _parse(float, text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def fraction(text):
    value = _parse(float, text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text}")
    return value


def file_path(text):
    # "", "." and ".." name no file either: Path() would make "" into "."
    if names_a_folder(text) or Path(text).name in ("", ".", ".."):
        raise argparse.ArgumentTypeError(f"expected a file name, got {text!r}, which names a folder")
    return Path(text)


def folder_path(text):
    if not text:
        raise argparse.ArgumentTypeError("expected a folder name, got ''")
    return Path(text)


def _parse(kind, text):
    try:
        return kind(text)
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
