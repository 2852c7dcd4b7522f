"""``batchnet info``: versions, backends, kernels, BLAS and threads (what ``batchnet.show_config()`` prints)."""


def add_parser(subparsers):
    return subparsers.add_parser("info", help="versions, backends, kernels, BLAS and threads")


def run(args):
    from batchnet.environment import show_config

    show_config()
