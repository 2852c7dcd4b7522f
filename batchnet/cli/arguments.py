"""Argument types and the options several commands share.

A type refuses a bad value with argparse's message and exit status 2, naming
what it expected and what came, before any work is done: a path too long for
the file system included, which would otherwise fail only once written.
"""

import argparse
import os
from pathlib import Path

from batchnet.saving.atomic import names_a_folder

DATASETS = ("mnist", "fashion-mnist")
BACKENDS = ("numpy", "cupy", "auto")


def add_backend_arguments(parser, dtype_default="float32"):
    parser.add_argument("--backend", choices=BACKENDS, help="default: $BATCHNET_BACKEND or numpy")
    parser.add_argument("--dtype", choices=("float32", "float64"), default=dtype_default)


def add_threads_argument(parser):
    parser.add_argument("--threads", type=positive_int,
                        help="CPU threads (default: as many as BLAS uses; at most the cores this process "
                             "may run on); a large batch runs as one shard per thread")


def threads_within_cores(threads):
    """``--threads`` capped at the cores this process may run on, and the note saying so (None if not capped).

    More threads than cores only take turns: a billion ran the standard CNN 20 times slower.
    """
    from batchnet.training.parallel import available_cores

    cores = available_cores()
    if threads is None or threads <= cores:
        return threads, None
    return cores, f"--threads {threads} is more than the {cores} cores this process may run on: using {cores}"


def add_data_arguments(parser):
    parser.add_argument("--data-dir", type=path, metavar="DIR",
                        help="the folder holding the four IDX files, and no other (default: "
                             "$BATCHNET_DATA, the cache, ...)")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="accept data files shaped as the published ones whose SHA-256 differs "
                             "(modified or corrupt copies)")


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


MAX_EPOCHS = 100_000  # an epoch of one image takes about a millisecond: this bound is minutes of that


def epoch_count(text):
    value = non_negative_int(text)
    if value > MAX_EPOCHS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_EPOCHS} epochs, got {text}")
    return value


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
    """A file to write (through a temporary file beside it, so its name must leave room for that one's)."""
    # "", "." and ".." name no file either: Path() would make "" into "."
    if names_a_folder(text) or Path(text).name in ("", ".", ".."):
        raise argparse.ArgumentTypeError(f"expected a file name, got {text!r}, which names a folder")
    _check_fits_file_system(text, spare=TEMPORARY_NAME_EXTRA)
    return Path(text)


def npy_file_path(text):
    """A file for ``np.save``, which adds ``.npy`` to a name without it: that name must fit too."""
    path = file_path(text)
    if path.suffix != ".npy":
        _check_fits_file_system(f"{text}.npy", spare=TEMPORARY_NAME_EXTRA)
    return path


def folder_path(text):
    if not text:
        raise argparse.ArgumentTypeError("expected a folder name, got ''")
    return path(text)


def path(text):
    """Any path the file system could hold."""
    _check_fits_file_system(text)
    return Path(text)


# batchnet.saving.atomic.write_atomically writes ".<name>.<16 hex digits>.part" first
TEMPORARY_NAME_EXTRA = len("..") + 16 + len(".part")


def _check_fits_file_system(text, spare=0):
    """Refuse a path with a name (or in all) longer than the file system takes, which would
    fail with ENAMETOOLONG only when used; ``spare``: bytes the last name must leave free."""
    absolute = Path(os.path.abspath(os.path.expanduser(text)))
    name_max, path_max = _limits(absolute)
    names = absolute.parts[1:]
    for index, name in enumerate(names):
        room = name_max - (spare if index == len(names) - 1 else 0)
        if len(os.fsencode(name)) > room:
            less = f" ({name_max} on this file system, less {spare} for the temporary file it is written to first)" \
                if room != name_max else " (the most this file system takes)"
            raise argparse.ArgumentTypeError(f"expected names of at most {room} bytes{less}, got one of "
                                             f"{len(os.fsencode(name))}: {_shortened(name)}")
    length = len(os.fsencode(str(absolute))) + spare
    if length >= path_max:
        raise argparse.ArgumentTypeError(f"expected a path of at most {path_max - 1 - spare} bytes, "
                                         f"got {length - spare}: {_shortened(str(absolute))}")


def _limits(absolute):
    """``(NAME_MAX, PATH_MAX)`` of the file system that would hold ``absolute``: that of its nearest existing folder."""
    for folder in (absolute, *absolute.parents):
        try:
            if folder.exists():
                return os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX")
        except (OSError, ValueError, AttributeError):  # too long itself; no pathconf (Windows)
            continue
    return 255, 4096


def _shortened(name):
    return name if len(name) <= 60 else f"{name[:40]}...{name[-17:]} ({len(name)} characters)"


def _parse(kind, text):
    try:
        return kind(text)
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
