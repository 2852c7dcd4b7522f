"""The ``batchnet`` command: train, evaluate, predict, check, export and info, one module per command.

``batchnet train --dataset fashion-mnist --model cnn --epochs 2`` trains the
standard CNN (``batchnet.models.standard_cnn``) and prints the test accuracy and
the time taken. Bad arguments exit with argparse's message and status 2 (a bad
``$BATCHNET_BACKEND`` too); missing data, unreadable models and other expected
failures print one clear message and exit with status 1, Ctrl-C with 130 and SIGTERM
with 143 (taken as Ctrl-C, so that nothing half-written is left: :mod:`batchnet.cli.signals`).
Output paths and the plot folder are checked before any training, and files
are written whole or not at all.

Each command is a module with ``add_parser(subparsers)``, which adds the
command's parser and returns it, and ``run(args)``; a new command is one more
entry in ``COMMANDS``.
"""

import argparse
import os
import signal
import sys

from batchnet.cli import check, evaluate, export, info, predict, train
from batchnet.cli.errors import CommandError, Interrupted
from batchnet.cli.signals import Terminated, sigterm_as_interrupt

COMMANDS = (train, evaluate, predict, check, export, info)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        sys.stdout.flush()
        # as argparse says of a missing required argument: the help alone reads as success
        names = [command.__name__.rsplit(".", 1)[-1] for command in COMMANDS]
        print(f"batchnet: error: expected a command: {', '.join(names[:-1])} or {names[-1]}", file=sys.stderr)
        return 2
    with sigterm_as_interrupt() as sigterm:
        try:
            return args.run(args) or 0
        except BrokenPipeError:
            # the reader of our output went away (``batchnet check | head -1``): stop quietly,
            # and keep Python from reporting the same broken pipe again when it flushes at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except KeyboardInterrupt as interrupt:
            error = Interrupted("terminated (SIGTERM)" if isinstance(interrupt, Terminated) else "interrupted")
        except CommandError as caught:
            error = caught
    if sigterm.received and isinstance(error, Interrupted):
        # training catches the interrupt itself and says what it stopped; the status says why
        error.exit_status = 128 + signal.SIGTERM
    print(f"batchnet {args.command}: {error}", file=sys.stderr)
    return error.exit_status


def build_parser():
    from batchnet._version import __version__

    parser = argparse.ArgumentParser(
        prog="batchnet", description="Train and run small neural networks on MNIST and Fashion-MNIST."
    )
    parser.add_argument("--version", action="version", version=f"batchnet {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers).set_defaults(run=command.run)
    return parser


__all__ = ["COMMANDS", "build_parser", "main"]
