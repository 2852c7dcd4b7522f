"""SIGTERM taken as Ctrl-C while a command runs, so that it cleans up as Ctrl-C does.

SIGTERM (what ``kill``, ``timeout`` and job schedulers send) ends a Python
process at once by default: no ``finally`` runs, so a save in progress leaves
its temporary file behind. While a command runs, SIGTERM raises
:class:`Terminated`, a KeyboardInterrupt, in the main thread instead:
training stops as on Ctrl-C, a save removes its temporary file and keeps the
old one, and the command exits with 143 (128 + SIGTERM).

Under an MPI launcher SIGTERM keeps its default: a rank waiting in a
collective runs no Python code, so the handler could not end it, and the
launcher ends a job by signalling its ranks.
"""

import contextlib
import signal
import threading

from batchnet.distributed.launch import launched_under_mpi


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is."""


class SigtermState:
    """Whether SIGTERM came while the command ran."""

    received = False


@contextlib.contextmanager
def sigterm_as_interrupt():
    """For the block: SIGTERM raises :class:`Terminated`; yields a :class:`SigtermState`."""
    state = SigtermState()
    # signal handlers can be set from the main thread alone (cli.main may be called from another)
    if threading.current_thread() is not threading.main_thread() or launched_under_mpi():
        yield state
        return

    def raise_terminated(signal_number, frame):
        state.received = True
        raise Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield state
    finally:
        signal.signal(signal.SIGTERM, previous)
