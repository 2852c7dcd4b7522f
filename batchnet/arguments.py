"""Checks of the plain arguments users pass (counts, seeds), shared so that each
refuses the same things: floats, bools and negative numbers are never counts,
while NumPy's integers are."""

import numbers

import numpy as np


def is_count(value, minimum=0):
    """Whether ``value`` is an integer (Python's or NumPy's, not a bool) of at least ``minimum``."""
    return (not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Integral)
            and value >= minimum)
