"""``batchnet train``: train one of batchnet.models' networks, report its test accuracy and time,
and optionally save the model and plot its learning curves.

Everything that could fail at the end (the --save file, the --plot folder,
matplotlib, the backend) is checked before the data is read or training starts.
"""

import sys
import time

from batchnet.cli import arguments
from batchnet.cli.errors import CommandError, Interrupted
from batchnet.cli.loading import choose_backend, count, load_data, predicted_classes, prepare
from batchnet.cli.output_paths import check_folder_to_make, check_output_file
from batchnet.cli.ranks import is_root, mpi_world, note, printer

MODELS = {
    "tutorial-cnn": "tutorial_cnn",
    "cnn": "standard_cnn",
    "mlp": "tutorial_mlp",
    "cnn-bn": "cnn_bn",
}

# Per-model training defaults, used for every option the user leaves out. The tutorial
# networks keep the tutorial's MSE loss: with Adam it reaches 0.95+ on MNIST in 2 epochs.
TRAINING_DEFAULTS = {
    "cnn": {"epochs": 2, "batch_size": 128, "lr": 1e-3, "optimizer": "adam"},
    "tutorial-cnn": {"epochs": 2, "batch_size": 32, "lr": 1e-3, "optimizer": "adam"},
    "mlp": {"epochs": 3, "batch_size": 32, "lr": 1e-3, "optimizer": "adam"},
    "cnn-bn": {"epochs": 2, "batch_size": 128, "lr": 1e-3, "optimizer": "adam"},
}


def add_parser(subparsers):
    parser = subparsers.add_parser("train", help="train a network and report its test accuracy")
    parser.add_argument("--dataset", choices=arguments.DATASETS, default="mnist")
    parser.add_argument("--model", choices=sorted(MODELS), default="cnn",
                        help="tutorial-cnn (A), cnn (B: conv32-conv64-fc128), mlp (C: 784-100-50-10), "
                             "cnn-bn (B with batch norm and dropout)")
    parser.add_argument("--epochs", type=arguments.epoch_count,
                        help=f"default: 2 (cnn, cnn-bn), 2 (tutorial-cnn), 3 (mlp); at most {arguments.MAX_EPOCHS}")
    parser.add_argument("--batch-size", type=arguments.positive_int,
                        help="default: 128 (cnn, cnn-bn), 32 (others); one larger than the training set takes "
                             "the whole set")
    parser.add_argument("--lr", type=arguments.positive_float, help="learning rate; default 1e-3")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), help="default: adam")
    arguments.add_backend_arguments(parser)
    arguments.add_threads_argument(parser)
    parser.add_argument("--seed", type=arguments.non_negative_int, default=0,
                        help="seeds the weights and the batch order (default 0)")
    parser.add_argument("--validation-split", type=arguments.fraction, default=0.0,
                        help="fraction of the training set held out for validation (default 0)")
    parser.add_argument("--save", type=arguments.file_path, metavar="PATH",
                        help="save the trained model to PATH (.npz)")
    parser.add_argument("--plot", type=arguments.folder_path, metavar="DIR",
                        help="write learning curves, confusion matrix and misclassified images to DIR")
    parser.add_argument("--limit", type=arguments.positive_int, metavar="N",
                        help="train on the first N training images only (quick trials)")
    arguments.add_training_controls(parser)
    arguments.add_data_arguments(parser)
    arguments.add_verbosity(parser)
    # run() refuses option combinations with the parser's own usage message
    parser.set_defaults(parser=parser)
    return parser


def run(args):
    from batchnet import models
    from batchnet.training.callbacks import EarlyStopping
    from batchnet.training.loop import TrainingDiverged

    if args.early_stopping is not None and not args.validation_split:
        args.parser.error("--early-stopping needs --validation-split > 0: it watches val_loss")
    # under mpiexec every rank trains its shard of each batch; rank 0 alone prints, saves and plots
    comm = mpi_world()
    print = printer(comm)  # the builtin on rank 0 (or alone), silence on the other ranks
    batch_size_given = args.batch_size is not None
    for option, value in TRAINING_DEFAULTS[args.model].items():
        if getattr(args, option) is None:
            setattr(args, option, value)
    if args.verbose is None:
        # in a log file every redraw of a bar would stay: there, one line per epoch
        args.verbose = 1 if sys.stdout.isatty() and sys.stderr.isatty() else 2
    if args.plot is not None:
        _require_plotting()
        check_folder_to_make("--plot", args.plot)
    if args.save is not None:
        check_output_file("--save", args.save, "model.npz")
    args.threads, capped = arguments.threads_within_cores(args.threads)
    if capped:
        note(comm, "train", capped)
    started = time.perf_counter()
    # before the data: a backend that cannot run is said at once, not after a download
    network = getattr(models, MODELS[args.model])(backend=choose_backend(args.backend), dtype=args.dtype)
    (x_train, y_train), (x_test, y_test) = load_data(args.dataset, args.data_dir, verify=args.verify)
    if args.limit is not None:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    for split, images in (("training", x_train), ("test", x_test)):
        if not len(images):  # found now, not by fit or by the evaluation after training
            raise CommandError(f"the {args.dataset} {split} set holds no images; expected at least 1")
    train_inputs, train_targets = prepare(x_train, y_train, args.dtype)
    test_inputs, test_targets = prepare(x_test, y_test, args.dtype)
    trained_on = len(train_inputs) - _check_validation_split(args.validation_split, len(train_inputs))
    if args.batch_size > trained_on:
        if batch_size_given:  # a default too large for a few images is no news
            note(comm, "train", f"--batch-size {args.batch_size} is more than the "
                                f"{count(trained_on, 'training image')}: each step takes all {trained_on}")
        args.batch_size = trained_on
    held_out = f" ({args.validation_split:g} held out for validation)" if args.validation_split else ""
    print(f"training {args.model} on {args.dataset}: {count(len(train_inputs), 'image')}{held_out}, "
          f"{count(args.epochs, 'epoch')}, {args.optimizer} lr={args.lr:g}, batch {args.batch_size}, "
          f"{network.backend.name} {args.dtype}{_controls_said(args)}", flush=True)
    callbacks = _training_controls(args)
    training_started = time.perf_counter()
    try:
        network.fit(train_inputs, train_targets, epochs=args.epochs, learning_rate=args.lr,
                    batch_size=args.batch_size, optimizer=args.optimizer, seed=args.seed,
                    threads=args.threads, verbose=args.verbose, validation_split=args.validation_split,
                    callbacks=callbacks, comm=comm)
    except TrainingDiverged as error:
        raise CommandError(str(error)) from None
    training_seconds = time.perf_counter() - training_started
    early_stopping = next((callback for callback in callbacks if isinstance(callback, EarlyStopping)), None)
    if early_stopping is not None and early_stopping.stopped_epoch is not None:
        print(f"early stopping: val_loss did not improve for {count(early_stopping.wait, 'epoch')} after epoch "
              f"{early_stopping.best_epoch}; stopped after epoch {early_stopping.stopped_epoch} and kept the "
              f"weights of epoch {early_stopping.best_epoch} (val_loss {early_stopping.best:.4f})")
    elif network.history.stopped_early:
        # fit stops early without raising only on Ctrl-C (a diverged loss raises). Nothing is
        # saved then: not over the --save file, which may hold a finished model, and not as a new
        # file, which would be taken later for a finished one
        not_saved = f"; nothing was saved to {args.save}, as an interrupted run never is" if args.save else ""
        raise Interrupted(f"training {network.history.stopped_early}{not_saved}")
    test = network.evaluate(test_inputs, test_targets, threads=args.threads, comm=comm)
    print(f"test accuracy: {test['accuracy']:.4f}  (test loss {test['loss']:.4f}, {len(test_inputs)} images)")
    print(f"time: {training_seconds:.1f} s training, {time.perf_counter() - started:.1f} s in all")
    if not is_root(comm):
        return
    if args.save is not None:
        _save(network, args.save)
    if args.plot is not None:
        try:
            written = _write_plots(network, args.plot, test_inputs, y_test, args.dataset, args.threads)
        except OSError as error:
            raise CommandError(f"could not write the plots to {args.plot}: {error}") from None
        print(f"wrote {', '.join(str(path) for path in written)}")


def _controls_said(args):
    said = "" if args.schedule == "none" else f", {args.schedule} schedule"
    if args.early_stopping is not None:
        said += f", early stopping (patience {args.early_stopping})"
    return said


def _training_controls(args):
    """The callbacks --schedule and --early-stopping ask for (their defaults are stated in --help)."""
    from batchnet.training import schedules
    from batchnet.training.callbacks import EarlyStopping

    monitor = "val_loss" if args.validation_split else "loss"
    chosen = {
        "none": lambda: None,
        "step": lambda: schedules.StepDecay(step_size=max(1, args.epochs // 3), gamma=0.1),
        "exponential": lambda: schedules.ExponentialDecay(gamma=0.9),
        "cosine": lambda: schedules.CosineAnnealing(epochs=max(1, args.epochs)),
        "plateau": lambda: schedules.ReduceLROnPlateau(monitor=monitor, factor=0.1, patience=5),
    }[args.schedule]()
    callbacks = [] if chosen is None else [chosen]
    if args.early_stopping is not None:
        callbacks.append(EarlyStopping(monitor="val_loss", patience=args.early_stopping, restore_best=True))
    return callbacks


def _save(network, path):
    from batchnet.saving.model_file import save_model

    try:
        save_model(network, path)
    except OSError as error:
        raise CommandError(f"could not save the model to {path}: {error.strerror or error}") from None
    except ValueError as error:  # what save_model refuses to write (an unregistered function, ...)
        raise CommandError(f"could not save the model to {path}: {error}") from None
    print(f"saved the model to {path}")


def _check_validation_split(split, images):
    """The images ``split`` holds out; refused, as fit would but before training, if that leaves none to train on."""
    if not split:
        return 0
    held_out = max(1, round(images * split))  # as fit rounds it
    if held_out >= images:
        raise CommandError(f"--validation-split {split:g}: holding out {held_out} of {count(images, 'image')} "
                           "for validation_split leaves no training samples")
    return held_out


def _require_plotting():
    from batchnet.plotting import require_matplotlib

    try:
        require_matplotlib()
    except ImportError as error:
        raise CommandError(f"--plot: {error}") from None


def _write_plots(network, folder, test_inputs, test_labels, dataset, threads):
    from batchnet import plotting
    from batchnet.data.mnist import CLASS_NAMES

    predictions = predicted_classes(network, test_inputs, threads)
    names = CLASS_NAMES[dataset]
    return [
        plotting.plot_learning_curves(network.history, folder / "learning_curves.png"),
        plotting.plot_confusion_matrix(test_labels, predictions, names, folder / "confusion_matrix.png"),
        plotting.plot_misclassified(test_inputs, test_labels, predictions, names,
                                    folder / "misclassified.png"),
    ]
