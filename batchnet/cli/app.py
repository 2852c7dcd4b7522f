"""The ``batchnet`` command: train, evaluate, predict, check and info.

``batchnet train --dataset fashion-mnist --model cnn --epochs 2`` trains network B
and prints the test accuracy and the time taken. Bad arguments exit with
argparse's message and status 2 (a bad ``$BATCHNET_BACKEND`` too); missing data,
unreadable models and other expected failures print one clear message and exit
with status 1, Ctrl-C with 130. Output paths and the plot folder are checked
before any training, and files are written whole or not at all.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from backends import BackendUnavailable
from batchnet.saving.atomic import check_output_path, names_a_folder, write_atomically

MODELS = {
    "tutorial-cnn": "tutorial_cnn",
    "cnn": "standard_cnn",
    "mlp": "tutorial_mlp",
}

# Per-model training defaults, used for every option the user leaves out. The tutorial
# networks keep the tutorial's MSE loss: with Adam it reaches 0.95+ on MNIST in 2 epochs.
TRAINING_DEFAULTS = {
    "cnn": {"epochs": 2, "batch_size": 128, "lr": 1e-3, "optimizer": "adam"},
    "tutorial-cnn": {"epochs": 2, "batch_size": 32, "lr": 1e-3, "optimizer": "adam"},
    "mlp": {"epochs": 3, "batch_size": 32, "lr": 1e-3, "optimizer": "adam"},
}
DATASETS = ("mnist", "fashion-mnist")
CHECK_SAMPLES = 4
CHECK_TOLERANCE = {"float64": 1e-9, "float32": 1e-3}
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


class CommandError(Exception):
    """An expected failure: printed as one message, exit status 1."""

    exit_status = 1


class UsageError(CommandError):
    """A bad setting that argparse cannot see (an environment variable): one message, exit status 2."""

    exit_status = 2


class Interrupted(CommandError):
    """Ctrl-C: one message, exit status 130 (128 + SIGINT), as shells report it."""

    exit_status = 130


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except BrokenPipeError:
        # the reader of our output went away (``batchnet check | head -1``): stop quietly,
        # and keep Python from reporting the same broken pipe again when it flushes at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        error = Interrupted("interrupted")
    except CommandError as caught:
        error = caught
    print(f"batchnet {args.command}: {error}", file=sys.stderr)
    return error.exit_status


# -- arguments --------------------------------------------------------------------
def build_parser():
    from batchnet._version import __version__

    parser = argparse.ArgumentParser(
        prog="batchnet", description="Train and run small neural networks on MNIST and Fashion-MNIST."
    )
    parser.add_argument("--version", action="version", version=f"batchnet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train a network and report its test accuracy")
    train.add_argument("--dataset", choices=DATASETS, default="mnist")
    train.add_argument("--model", choices=sorted(MODELS), default="cnn",
                       help="tutorial-cnn (A), cnn (B: conv32-conv64-fc128), mlp (C: 784-100-50-10)")
    train.add_argument("--epochs", type=_non_negative_int, help="default: 2 (cnn), 2 (tutorial-cnn), 3 (mlp)")
    train.add_argument("--batch-size", type=_positive_int, help="default: 128 (cnn), 32 (others)")
    train.add_argument("--lr", type=_positive_float, help="learning rate; default 1e-3")
    train.add_argument("--optimizer", choices=("sgd", "adam"), help="default: adam")
    _add_backend_arguments(train)
    _add_threads_argument(train)
    train.add_argument("--seed", type=_non_negative_int, default=0,
                       help="seeds the weights and the batch order (default 0)")
    train.add_argument("--validation-split", type=_fraction, default=0.0,
                       help="fraction of the training set held out for validation (default 0)")
    train.add_argument("--save", type=_file_path, metavar="PATH", help="save the trained model to PATH (.npz)")
    train.add_argument("--plot", type=_folder_path, metavar="DIR",
                       help="write learning curves, confusion matrix and misclassified images to DIR")
    train.add_argument("--limit", type=_positive_int, metavar="N",
                       help="train on the first N training images only (quick trials)")
    _add_data_arguments(train)
    _add_verbosity(train)
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser("evaluate", help="test accuracy of a saved model")
    evaluate.add_argument("model", type=Path, metavar="MODEL", help="a model saved with --save")
    evaluate.add_argument("--dataset", choices=DATASETS, default="mnist")
    evaluate.add_argument("--backend", choices=("numpy", "cupy", "auto"))
    _add_threads_argument(evaluate)
    _add_data_arguments(evaluate)
    evaluate.set_defaults(run=run_evaluate)

    predict = commands.add_parser("predict", help="predicted classes of a saved model")
    predict.add_argument("model", type=Path, metavar="MODEL", help="a model saved with --save")
    source = predict.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=DATASETS, help="predict its test set (the default: mnist)")
    source.add_argument("--input", type=Path, metavar="FILE.npy",
                        help="images (N, 28, 28) as uint8 pixels or floats in [0, 1]")
    predict.add_argument("--output", type=_file_path, metavar="OUT.npy",
                         help="save the predicted classes (N,) to OUT.npy (.npy is added when missing, as "
                              "np.save does)")
    predict.add_argument("--backend", choices=("numpy", "cupy", "auto"))
    _add_threads_argument(predict)
    _add_data_arguments(predict)
    predict.set_defaults(run=run_predict)

    check = commands.add_parser("check", help="compare every batched layer with the per-sample reference")
    _add_backend_arguments(check, dtype_default="float64")
    check.add_argument("--seed", type=_non_negative_int, default=0)
    check.set_defaults(run=run_check)

    info = commands.add_parser("info", help="versions, backends, kernels, BLAS and threads")
    info.set_defaults(run=run_info)
    return parser


def _add_backend_arguments(parser, dtype_default="float32"):
    parser.add_argument("--backend", choices=("numpy", "cupy", "auto"),
                        help="default: $BATCHNET_BACKEND or numpy")
    parser.add_argument("--dtype", choices=("float32", "float64"), default=dtype_default)


def _add_threads_argument(parser):
    parser.add_argument("--threads", type=_positive_int,
                        help="CPU threads (default: as many as BLAS uses); a large batch runs "
                             "as one shard per thread")


def _add_data_arguments(parser):
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="the folder holding the four IDX files, and no other (default: "
                             "$BATCHNET_DATA, the cache, ...)")


def _add_verbosity(parser):
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2),
                        help="0 quiet, 1 a progress bar per epoch, 2 one line per epoch (default: 1 on a "
                             "terminal, else 2)")


def _positive_int(text):
    value = _parse(int, text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _non_negative_int(text):
    value = _parse(int, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text}")
    return value


def _positive_float(text):
    value = _parse(float, text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _fraction(text):
    value = _parse(float, text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text}")
    return value


def _file_path(text):
    # "", "." and ".." name no file either: Path() would make "" into "."
    if names_a_folder(text) or Path(text).name in ("", ".", ".."):
        raise argparse.ArgumentTypeError(f"expected a file name, got {text!r}, which names a folder")
    return Path(text)


def _folder_path(text):
    if not text:
        raise argparse.ArgumentTypeError("expected a folder name, got ''")
    return Path(text)


def _parse(kind, text):
    try:
        return kind(text)
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


# -- shared steps -----------------------------------------------------------------
def _load_data(name, data_dir, splits=("train", "test")):
    from batchnet.data.mnist import DatasetError, load_dataset

    if data_dir is not None:
        data_dir = data_dir.expanduser()
        if not data_dir.is_dir():
            found = "is a file, not a folder" if data_dir.exists() else "does not exist"
            raise CommandError(f"--data-dir: {data_dir} {found}")
    try:
        return load_dataset(name, data_dir, splits=splits)
    except DatasetError as error:
        raise CommandError(str(error)) from None


def _prepare(images, labels, dtype):
    from batchnet.data.preprocessing import one_hot, scale_images

    return scale_images(images, dtype)[..., None], one_hot(labels, 10, dtype)


def _backend(name):
    """The backend ``--backend`` names, else ``$BATCHNET_BACKEND``'s, else NumPy."""
    from backends import get_backend

    try:
        return get_backend(name)
    except BackendUnavailable as error:
        raise CommandError(str(error)) from None
    except ValueError as error:  # argparse has checked --backend: a bad $BATCHNET_BACKEND, which it names
        raise UsageError(str(error)) from None


def _load_model(path, backend):
    from batchnet.saving.model_file import ModelFileError, load_model

    try:
        return load_model(path, backend=backend)
    except FileNotFoundError:
        raise CommandError(f"no model file at {path}") from None
    except ModelFileError as error:
        raise CommandError(str(error)) from None


def _check_output_file(option, path, example):
    """Refuse now, before any work, a file path that could not be written at the end."""
    try:
        check_output_path(path)
    except IsADirectoryError:
        raise CommandError(f"{option}: {path} is a folder; expected a file name, e.g. {path / example}") from None
    except NotADirectoryError as error:
        raise CommandError(f"{option}: {error.filename} is a file, not a folder") from None
    except FileNotFoundError as error:
        raise CommandError(f"{option}: the folder {error.filename} does not exist") from None
    _check_folder_is_writable(option, path.parent)


def _check_folder_is_writable(option, folder):
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise CommandError(f"{option}: cannot write in {folder} ({error.strerror or error})") from None


def _predicted_classes(network, images, threads):
    return network.predict(images, threads=threads).argmax(axis=1)


# -- train ------------------------------------------------------------------------
def run_train(args):
    from batchnet import models
    from batchnet.network import TrainingDiverged

    for option, value in TRAINING_DEFAULTS[args.model].items():
        if getattr(args, option) is None:
            setattr(args, option, value)
    if args.verbose is None:
        # in a log file every redraw of a bar would stay: there, one line per epoch
        args.verbose = 1 if sys.stdout.isatty() and sys.stderr.isatty() else 2
    if args.plot is not None:
        _require_plotting()
        _check_plot_folder(args.plot)
    if args.save is not None:
        _check_output_file("--save", args.save, "model.npz")
    started = time.perf_counter()
    # before the data: a backend that cannot run is said at once, not after a download
    network = getattr(models, MODELS[args.model])(backend=_backend(args.backend), dtype=args.dtype)
    (x_train, y_train), (x_test, y_test) = _load_data(args.dataset, args.data_dir)
    if args.limit is not None:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    train_inputs, train_targets = _prepare(x_train, y_train, args.dtype)
    test_inputs, test_targets = _prepare(x_test, y_test, args.dtype)
    _check_validation_split(args.validation_split, len(train_inputs))
    held_out = f" ({args.validation_split:g} held out for validation)" if args.validation_split else ""
    print(f"training {args.model} on {args.dataset}: {_count(len(train_inputs), 'image')}{held_out}, "
          f"{_count(args.epochs, 'epoch')}, {args.optimizer} lr={args.lr:g}, batch {args.batch_size}, "
          f"{network.backend.name} {args.dtype}", flush=True)
    training_started = time.perf_counter()
    try:
        network.fit(train_inputs, train_targets, epochs=args.epochs, learning_rate=args.lr,
                    batch_size=args.batch_size, optimizer=args.optimizer, seed=args.seed,
                    threads=args.threads, verbose=args.verbose, validation_split=args.validation_split)
    except TrainingDiverged as error:
        raise CommandError(str(error)) from None
    training_seconds = time.perf_counter() - training_started
    if network.history.stopped_early:
        # fit stops early without raising only on Ctrl-C (a diverged loss raises). Nothing is
        # saved then: not over the --save file, which may hold a finished model, and not as a new
        # file, which would be taken later for a finished one
        not_saved = f"; nothing was saved to {args.save}, as an interrupted run never is" if args.save else ""
        raise Interrupted(f"training {network.history.stopped_early}{not_saved}")
    test = network.evaluate(test_inputs, test_targets, threads=args.threads)
    print(f"test accuracy: {test['accuracy']:.4f}  (test loss {test['loss']:.4f}, {len(test_inputs)} images)")
    print(f"time: {training_seconds:.1f} s training, {time.perf_counter() - started:.1f} s in all")
    if args.save is not None:
        from batchnet.saving.model_file import save_model

        try:
            save_model(network, args.save)
        except OSError as error:
            raise CommandError(f"could not save the model to {args.save}: {error.strerror or error}") from None
        except ValueError as error:  # what save_model refuses to write (an unregistered function, ...)
            raise CommandError(f"could not save the model to {args.save}: {error}") from None
        print(f"saved the model to {args.save}")
    if args.plot is not None:
        try:
            written = _write_plots(network, args.plot, test_inputs, y_test, args.dataset, args.threads)
        except OSError as error:
            raise CommandError(f"could not write the plots to {args.plot}: {error}") from None
        print(f"wrote {', '.join(str(path) for path in written)}")


def _check_validation_split(split, images):
    """Refuse, as fit would but before training, a split that leaves no images to train on."""
    if not split:
        return
    held_out = max(1, round(images * split))  # as fit rounds it
    if held_out >= images:
        raise CommandError(f"--validation-split {split:g}: holding out {held_out} of {_count(images, 'image')} "
                           "for validation_split leaves no training samples")


def _count(number, noun, plural=None):
    return f"{number} {noun}" if number == 1 else f"{number} {plural or noun + 's'}"


def _require_plotting():
    from batchnet.plotting import require_matplotlib

    try:
        require_matplotlib()
    except ImportError as error:
        raise CommandError(f"--plot: {error}") from None


def _check_plot_folder(folder):
    """``folder`` exists as a folder we may write in, or can be made."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CommandError(f"--plot: {existing} is a file, not a folder")
    _check_folder_is_writable("--plot", existing)


def _write_plots(network, folder, test_inputs, test_labels, dataset, threads):
    from batchnet import plotting
    from batchnet.data.mnist import CLASS_NAMES

    predictions = _predicted_classes(network, test_inputs, threads)
    names = CLASS_NAMES[dataset]
    return [
        plotting.plot_learning_curves(network.history, folder / "learning_curves.png"),
        plotting.plot_confusion_matrix(test_labels, predictions, names, folder / "confusion_matrix.png"),
        plotting.plot_misclassified(test_inputs, test_labels, predictions, names,
                                    folder / "misclassified.png"),
    ]


# -- evaluate / predict ----------------------------------------------------------------
def run_evaluate(args):
    network = _load_model(args.model, _backend(args.backend))
    (x_test, y_test), = _load_data(args.dataset, args.data_dir, splits=("test",))
    inputs, targets = _prepare(x_test, y_test, network.dtype.name)
    inputs = _image_batch(f"the {args.dataset} test set", inputs, network.sample_shape)
    try:
        if network.loss is None:
            accuracy, loss = float((_predicted_classes(network, inputs, args.threads) == y_test).mean()), ""
        else:
            test = network.evaluate(inputs, targets, threads=args.threads)
            accuracy, loss = test["accuracy"], f", test loss {test['loss']:.4f}"
    except (TypeError, ValueError) as error:
        raise CommandError(f"the model does not fit the {args.dataset} test set: {error}") from None
    print(f"test accuracy: {accuracy:.4f}  ({len(inputs)} {args.dataset} test images{loss})")


def run_predict(args):
    output = None
    if args.output is not None:
        output = _npy_path(args.output)
        # the name given too: a folder is refused, though np.save would write beside it
        for path in dict.fromkeys((args.output, output)):
            _check_output_file("--output", path, "classes.npy")
    network = _load_model(args.model, _backend(args.backend))
    labels = None
    if args.input is not None:
        inputs = _read_input(args.input, network)
    else:
        dataset = args.dataset or "mnist"
        (x_test, labels), = _load_data(dataset, args.data_dir, splits=("test",))
        inputs, _ = _prepare(x_test, labels, network.dtype.name)
        inputs = _image_batch(f"the {dataset} test set", inputs, network.sample_shape)
    try:
        predictions = _predicted_classes(network, inputs, args.threads)
    except (TypeError, ValueError) as error:
        raise CommandError(f"the model cannot take these inputs: {error}") from None
    if output is not None:
        try:
            write_atomically(output, lambda file: np.save(file, predictions))
        except OSError as error:
            raise CommandError(f"could not write {output}: {error.strerror or error}") from None
        print(f"saved {_count(len(predictions), 'predicted class', 'predicted classes')} to {output}")
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
    return _image_batch(path, images, network.sample_shape)


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


def _image_batch(source, images, sample_shape):
    """``images`` (from ``source``, for messages) as ``(N, *sample_shape)``; one image alone, or
    images without their single channel axis, are taken too."""
    if sample_shape is None:  # an untrained model: leave the shape to the model's own check
        images = images[None] if images.ndim == 2 else images
        return images[..., None] if images.ndim == 3 else images
    accepted = [sample_shape]
    if len(sample_shape) > 1 and sample_shape[-1] == 1:
        accepted.insert(0, sample_shape[:-1])
    if images.shape in accepted:
        images = images[None]
    if images.shape[1:] not in accepted:
        forms = " or ".join(f"(N, {', '.join(str(size) for size in shape)})" for shape in accepted)
        raise CommandError(f"the model cannot take these inputs: expected images {forms} like the model's "
                           f"input, got {images.shape} from {source}")
    if not len(images):
        raise CommandError(f"{source}: holds no images")
    return images.reshape(len(images), *sample_shape)


# -- check ------------------------------------------------------------------------
def reference_cases():
    """``(description, batched layer, reference layer, sample shape)`` for every layer type.

    Odd sizes, strides above 1, rectangular kernels and padding, so an index
    mix-up cannot hide behind symmetry.
    """
    import batchnet
    from batchnet import reference

    cases = [
        ("FCLayer(7)", batchnet.FCLayer(7), reference.FCLayer(7), (13,)),
        ("FlattenLayer()", batchnet.FlattenLayer(), reference.FlattenLayer(), (5, 4, 3)),
    ]
    for name in ("tanh", "sigmoid", "relu", "softmax"):
        cases.append((
            f"ActivationLayer({name})",
            batchnet.ActivationLayer(getattr(batchnet, name), getattr(batchnet, f"{name}_prime")),
            reference.ActivationLayer(getattr(reference, name), getattr(reference, f"{name}_prime")),
            (11,),
        ))
    convolution = {"filters_count": 4, "filter_shape": (3, 2), "padding": (1, 2), "stride": (2, 1)}
    geometry = "4 filters 3x2, padding (1, 2), stride (2, 1)"
    cases.append((f"ConvolutionalLayer {geometry}", batchnet.ConvolutionalLayer(**convolution),
                  reference.ConvolutionalLayer(**convolution), (9, 8, 3)))
    try:
        windows = reference.WindowsConvolutionalLayer(**convolution)
    except ImportError:
        windows = None
    if windows is not None:
        cases.append(("ConvolutionalLayer (same) vs WindowsConvolutionalLayer",
                      batchnet.ConvolutionalLayer(**convolution), windows, (9, 8, 3)))
    pooling = {"pool_shape": (3, 2), "stride": (2, 1), "padding": (1, 1)}
    for layer in ("MaxPoolingLayer", "AveragePoolingLayer"):
        cases.append((f"{layer} 3x2, padding (1, 1), stride (2, 1)", getattr(batchnet, layer)(**pooling),
                      getattr(reference, layer)(**pooling), (7, 6, 2)))
    return cases


def compare_with_reference(batched, reference_layer, sample_shape, backend, dtype, rng):
    """Largest absolute difference between the batched layer and the reference run sample by sample,
    over the outputs, the input errors and the parameter gradients."""
    inputs = rng.standard_normal((CHECK_SAMPLES, *sample_shape)).astype(dtype)
    batched.bind(backend, rng)
    outputs = backend.to_numpy(batched.forward_propagation(backend.asarray(inputs)))
    output_errors = rng.standard_normal(outputs.shape).astype(dtype)
    input_errors = backend.to_numpy(batched.backward(backend.asarray(output_errors)))
    for name, parameter in batched.parameters().items():
        setattr(reference_layer, name, backend.to_numpy(parameter).copy())
    largest = 0.0
    summed_gradients = {}
    for sample in range(CHECK_SAMPLES):
        output = reference_layer.forward_propagation(inputs[sample])
        input_error = reference_layer.backward(output_errors[sample])
        largest = max(largest, _largest_difference(output, outputs[sample]),
                      _largest_difference(input_error, input_errors[sample]))
        for name, gradient in reference_layer.gradients.items():
            summed_gradients[name] = summed_gradients.get(name, 0) + gradient
    for name, gradient in batched.gradients.items():
        largest = max(largest, _largest_difference(summed_gradients[name], backend.to_numpy(gradient)))
    return largest


def _largest_difference(expected, actual):
    expected, actual = np.asarray(expected), np.asarray(actual)
    if expected.shape != actual.shape:
        return float("inf")
    return float(np.abs(expected.astype(np.float64) - actual.astype(np.float64)).max())


def run_check(args):
    backend = _backend(args.backend)
    rng = np.random.default_rng(args.seed)
    tolerance = CHECK_TOLERANCE[args.dtype]
    print(f"batched layers on {backend.name} ({args.dtype}) vs the per-sample reference, "
          f"{CHECK_SAMPLES} random samples each; tolerance {tolerance:g}")
    failures = 0
    for description, batched, reference_layer, sample_shape in reference_cases():
        difference = compare_with_reference(batched, reference_layer, sample_shape, backend, args.dtype, rng)
        verdict = "ok" if difference <= tolerance else "MISMATCH"
        failures += verdict != "ok"
        print(f"  {description:<64}  largest difference {difference:.3e}  {verdict}")
    if failures:
        raise CommandError(f"{failures} layer(s) differ from the reference beyond {tolerance:g}")
    print("all layers agree with the reference")


# -- info -------------------------------------------------------------------------
def run_info(args):
    from batchnet.environment import show_config

    show_config()
