"""``batchnet predict MODEL``: the classes a saved model predicts for a test set or a .npy file
of images, printed one per line or saved with ``--output``.

An ``--input`` file is read as a plain array (never unpickled): uint8 pixels
are scaled to [0, 1], float pixels must already be in [0, 1].
"""

from pathlib import Path

import numpy as np

from batchnet.cli import arguments
from batchnet.cli.errors import CommandError
from batchnet.cli.loading import (
    choose_backend,
    count,
    image_batch,
    load_data,
    load_model,
    prepare,
)
from batchnet.cli.output_paths import check_output_file
from batchnet.cli.ranks import is_root, mpi_world, note
from batchnet.saving.atomic import write_atomically

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


def add_parser(subparsers):
    parser = subparsers.add_parser("predict", help="predicted classes of a saved model")
    parser.add_argument("model", type=Path, metavar="MODEL", help="a model saved with --save")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=arguments.DATASETS, help="predict its test set (the default: mnist)")
    source.add_argument("--input", type=Path, metavar="FILE.npy",
                        help="images (N, 28, 28) as uint8 pixels or floats in [0, 1]")
    parser.add_argument("--output", type=arguments.npy_file_path, metavar="OUT.npy",
                        help="save the predicted classes (N,) to OUT.npy (.npy is added when missing, as "
                             "np.save does)")
    parser.add_argument("--backend", choices=arguments.BACKENDS)
    arguments.add_threads_argument(parser)
    arguments.add_data_arguments(parser)
    return parser


def run(args):
    comm = mpi_world()  # under mpiexec each rank predicts its part of the images; rank 0 alone writes
    output = None
    if args.output is not None:
        output = _npy_path(args.output)
        # the name given too: a folder is refused, though np.save would write beside it
        for path in dict.fromkeys((args.output, output)):
            check_output_file("--output", path, "classes.npy")
    args.threads, capped = arguments.threads_within_cores(args.threads)
    if capped:
        note(comm, "predict", capped)
    network = load_model(args.model, choose_backend(args.backend))
    labels = None
    if args.input is not None:
        inputs = _read_input(args.input, network)
    else:
        dataset = args.dataset or "mnist"
        (x_test, labels), = load_data(dataset, args.data_dir, splits=("test",), verify=args.verify)
        inputs, _ = prepare(x_test, labels, network.dtype.name)
        inputs = image_batch(f"the {dataset} test set", inputs, network.sample_shape)
    try:
        predictions = network.predict(inputs, threads=args.threads, comm=comm).argmax(axis=1)
    except (TypeError, ValueError) as error:
        raise CommandError(f"the model cannot take these inputs: {error}") from None
    if not is_root(comm):
        return
    if output is not None:
        try:
            write_atomically(output, lambda file: np.save(file, predictions))
        except OSError as error:
            raise CommandError(f"could not write {output}: {error.strerror or error}") from None
        print(f"saved {count(len(predictions), 'predicted class', 'predicted classes')} to {output}")
    elif labels is None:
        print("\n".join(str(label) for label in predictions))
    if labels is not None:
        print(f"accuracy: {float((predictions == labels).mean()):.4f} on {len(labels)} test images")


def _npy_path(path):
    """The file ``np.save(path)`` writes: ``.npy`` is added when missing."""
    return path if path.suffix == ".npy" else path.with_name(path.name + ".npy")


def _read_input(path, network):
    """The images in the .npy file at ``path`` as a batch the model takes, scaled to [0, 1]."""
    images = _load_npy(path)
    if images.dtype == np.uint8:
        from batchnet.data.preprocessing import scale_images

        images = scale_images(images, network.dtype)
    elif images.dtype.kind == "f":
        _check_pixel_range(path, images)
        images = images.astype(network.dtype)
    else:
        raise CommandError(f"{path}: expected uint8 pixels or floats in [0, 1], got dtype {images.dtype}")
    return image_batch(path, images, network.sample_shape)


def _load_npy(path):
    try:
        with open(path, "rb") as file:
            magic = file.read(len(NPY_MAGIC))
    except FileNotFoundError:
        raise CommandError(f"no input file at {path}") from None
    except OSError as error:
        raise CommandError(f"{path}: cannot read it ({error.strerror})") from None
    if magic != NPY_MAGIC:
        # np.load would try to unpickle anything else and suggest allow_pickle: say what came
        found = "a .npz archive" if magic.startswith(ZIP_MAGIC) else "a file without the .npy header"
        raise CommandError(f"{path}: expected a .npy array (written by np.save), got {found}")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise CommandError(f"{path}: not a readable .npy array ({error})") from None


def _check_pixel_range(path, images):
    if not np.isfinite(images).all():
        raise CommandError(f"{path}: the images contain NaN or inf")
    if images.size and (images.min() < 0 or images.max() > 1):
        raise CommandError(f"{path}: float pixels must be in [0, 1] (or give uint8 pixels 0..255), "
                           f"got values in [{images.min():g}, {images.max():g}]")
