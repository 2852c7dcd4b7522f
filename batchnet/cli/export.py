"""``batchnet export model.npz model.onnx``: a saved batchnet model as an ONNX graph.

One module for the one command, in the shape the CLI's commands take:
``add_parser(subparsers)`` adds it, ``run(args)`` runs it. The output path is
checked before the model is read, and the ONNX file is written whole or not
at all (batchnet.onnx.export writes through write_atomically).
"""

from pathlib import Path

from batchnet.cli import arguments
from batchnet.cli.errors import CommandError
from batchnet.cli.loading import load_model
from batchnet.cli.output_paths import check_output_file


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "export", help="write a saved model as an ONNX graph (needs the onnx package)",
        description="Write a batchnet model file as a standard-op ONNX graph that takes NHWC input, "
                    "as batchnet does. The loss is not part of the graph.")
    parser.add_argument("model", type=Path, help="a model file saved by batchnet (.npz)")
    parser.add_argument("output", type=arguments.path, help="the ONNX file to write (.onnx)")
    parser.set_defaults(run=run)
    return parser


def run(args):
    check_output_file("output", args.output, "model.onnx")
    network = load_model(args.model, "numpy")
    try:
        from batchnet.onnx import export

        export(network, args.output)
    except ImportError as error:
        raise CommandError(str(error)) from None
    except ValueError as error:  # a layer or activation ONNX has no translation for, a model never trained
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"cannot write {args.output} ({error.strerror or error})") from None
    sizes = ", ".join(map(str, network.sample_shape))
    # N: the graph's batch size is symbolic, as it is declared in the file
    print(f"exported {args.model} to {args.output} ({len(network.layers)} layers, input (N, {sizes}))")
