"""What ``fit`` and ``evaluate`` show while they run: a tqdm bar per epoch, or one line per epoch.

A bar is drawn only where it can redraw itself: on a terminal (stderr is a
tty) or in a notebook (tqdm.auto's widget). Anywhere else, a log file or a
pipe, every redraw would stay in the file (a 1,000-epoch fit wrote 150 KB of
bars into a log), so a bar asked for (``verbose=1``) becomes one line per
epoch there, as ``verbose=2`` gives everywhere.
"""

import numbers
import sys

# Reading the running loss forces a device sync on the GPU: do it this rarely.
LOSS_REFRESH_STEPS = 25


def check_verbose(verbose, where):
    """``verbose`` if it is 0, 1 or 2; else a ValueError naming ``NeuralNetwork.<where>``."""
    if not (isinstance(verbose, numbers.Integral) and not isinstance(verbose, bool) and verbose in (0, 1, 2)):
        raise ValueError(f"NeuralNetwork.{where}: verbose must be 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def can_draw_bars(stream):
    """Whether a progress bar on ``stream`` redraws in place: a terminal, or tqdm's notebook widget."""
    from tqdm.auto import tqdm

    # tqdm.auto picks the notebook widget inside Jupyter, whose stderr is no tty
    if any(base.__module__ == "tqdm.notebook" for base in tqdm.__mro__):
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class EpochProgress:
    """One epoch's display: ``update(step, running_loss)`` while it runs, ``close(summary)`` at its end.

    ``bar=True`` asks for a bar on ``stream`` (default: the current
    ``sys.stderr``), drawn only if :func:`can_draw_bars`; otherwise
    ``close`` prints one line to stdout.
    """

    def __init__(self, steps, epoch, epochs, bar=True, stream=None):
        self.label = f"epoch {epoch}/{epochs}"
        stream = sys.stderr if stream is None else stream
        self.bar = None
        if bar and can_draw_bars(stream):
            from tqdm.auto import tqdm  # imported once a bar is drawn: importing batchnet stays light

            self.bar = tqdm(total=steps, desc=self.label, leave=True, dynamic_ncols=True, file=stream)

    def update(self, step, running_loss):
        if self.bar is None:
            return
        self.bar.update(step - self.bar.n)
        if step % LOSS_REFRESH_STEPS == 0 or step == self.bar.total:
            self.bar.set_postfix_str(f"loss={running_loss():.4f}", refresh=False)

    def close(self, summary):
        if self.bar is None:
            print(f"{self.label}   {summary}", flush=True)
            return
        self.bar.set_postfix_str(summary, refresh=False)
        self.bar.close()


def report_evaluation(summary):
    """``evaluate``'s one line, with ``verbose`` 1 or 2."""
    print(f"evaluate   {summary}", flush=True)
