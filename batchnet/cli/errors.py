"""The failures a command expects, each with its exit status: main() prints them as one line.

Anything else (a bug) keeps its traceback: only these are turned into a message.
"""


class CommandError(Exception):
    """An expected failure: printed as one message, exit status 1."""

    exit_status = 1


class UsageError(CommandError):
    """A bad setting that argparse cannot see (an environment variable): one message, exit status 2."""

    exit_status = 2


class Interrupted(CommandError):
    """Ctrl-C: one message, exit status 130 (128 + SIGINT), as shells report it."""

    exit_status = 130
