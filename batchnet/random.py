"""Where batchnet's random generators come from.

Each ``fit`` draws its initial weights and batch order from one generator:
``fit(seed=n)`` seeds it directly. Without a seed it is seeded from
:func:`set_seed`'s generator when one was set (so a script that calls
``batchnet.set_seed(0)`` once, like ``torch.manual_seed``, repeats exactly),
else from the operating system's entropy.
"""

import numpy as np

from batchnet.arguments import is_count

_seed_source = None


def set_seed(seed):
    """Make every later unseeded ``fit``, ``predict`` and layer initialisation repeatable."""
    global _seed_source
    _seed_source = None if seed is None else np.random.default_rng(_checked(seed))


def _checked(seed):
    # NumPy's own message for a bad seed ("expected non-negative integer") names no seed
    if not is_count(seed):
        raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
    return int(seed)


def new_generator(seed=None):
    """A generator seeded with ``seed``, else from :func:`set_seed`'s source, else from entropy."""
    if seed is not None:
        return np.random.default_rng(_checked(seed))
    if _seed_source is not None:
        return np.random.default_rng(_seed_source.integers(2**63))
    return np.random.default_rng()
