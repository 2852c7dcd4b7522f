"""``batchnet evaluate MODEL``: the test accuracy (and loss, when the model has one) of a saved model."""

from pathlib import Path

from batchnet.cli import arguments
from batchnet.cli.errors import CommandError
from batchnet.cli.loading import choose_backend, image_batch, load_data, load_model, predicted_classes, prepare
from batchnet.cli.ranks import mpi_world, note, printer


def add_parser(subparsers):
    parser = subparsers.add_parser("evaluate", help="test accuracy of a saved model")
    parser.add_argument("model", type=Path, metavar="MODEL", help="a model saved with --save")
    parser.add_argument("--dataset", choices=arguments.DATASETS, default="mnist")
    parser.add_argument("--backend", choices=arguments.BACKENDS)
    arguments.add_threads_argument(parser)
    arguments.add_data_arguments(parser)
    return parser


def run(args):
    comm = mpi_world()  # under mpiexec each rank evaluates its part; rank 0 alone prints
    args.threads, capped = arguments.threads_within_cores(args.threads)
    if capped:
        note(comm, "evaluate", capped)
    network = load_model(args.model, choose_backend(args.backend))
    (x_test, y_test), = load_data(args.dataset, args.data_dir, splits=("test",), verify=args.verify)
    inputs, targets = prepare(x_test, y_test, network.dtype.name)
    inputs = image_batch(f"the {args.dataset} test set", inputs, network.sample_shape)
    try:
        if network.loss is None:
            accuracy, loss = float((predicted_classes(network, inputs, args.threads) == y_test).mean()), ""
        else:
            test = network.evaluate(inputs, targets, threads=args.threads, comm=comm)
            accuracy, loss = test["accuracy"], f", test loss {test['loss']:.4f}"
    except (TypeError, ValueError) as error:
        raise CommandError(f"the model does not fit the {args.dataset} test set: {error}") from None
    printer(comm)(f"test accuracy: {accuracy:.4f}  ({len(inputs)} {args.dataset} test images{loss})")
