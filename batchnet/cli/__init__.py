"""The ``batchnet`` command: train, evaluate, predict, check and info."""

from batchnet.cli.app import main

__all__ = ["main"]
