"""The rules a saved model follows, applied alike when it is saved and when it is loaded.

``save_model`` refuses exactly what ``load_model`` would refuse by calling
these same functions on the network it is given; each side words the
problems they find for its own reader (what to do before saving, what is
wrong in the file).
"""

import math
from typing import NamedTuple

import numpy as np

# The most elements one sample may have at a layer's input: 2**26 is a 4K RGB
# image (25M) with room to spare, 512 MiB in float64. The check run of a load
# makes a zero sample of the recorded input shape, and a hostile file could
# otherwise ask for petabytes; the bound on the product bounds every axis too.
# A sample is (features,) or (H, W, C): eight axes are plenty.
MAX_SAMPLE_ELEMENTS = 1 << 26
MAX_SAMPLE_AXES = 8
SAMPLE_SHAPE_RULE = f"1 to {MAX_SAMPLE_AXES} sizes of at least 1, with at most {MAX_SAMPLE_ELEMENTS} elements in all"


class ParameterProblem(NamedTuple):
    """Why a layer's parameters (or state: running statistics) cannot be stored or loaded as they are.

    ``kind`` is ``"missing"`` (``names`` lacks), ``"dtype"`` or ``"shape"``
    (of ``names[0]``: ``got``, where ``expected``; a shape's ``None`` is a size
    that follows from the input).
    """

    kind: str
    names: tuple
    got: object = None
    expected: object = None


def is_sample_shape(shape):
    """Whether ``shape`` (a list, as JSON gives it) follows SAMPLE_SHAPE_RULE."""
    if not isinstance(shape, list) or not 0 < len(shape) <= MAX_SAMPLE_AXES:
        return False
    if not all(isinstance(size, int) and not isinstance(size, bool) and size > 0 for size in shape):
        return False
    return math.prod(shape) <= MAX_SAMPLE_ELEMENTS


def missing_parameters(names, present, trained):
    """Those of ``names`` not in ``present`` where a model file needs them.

    A layer has all its parameters or none (not trained yet), and all of them
    once the network has run (``trained``: its input shape is known).
    """
    if not present and not trained:
        return []
    return [name for name in names if name not in present]


def saved_names(layer):
    """The arrays a model file holds for ``layer``: its parameters, then its state (running statistics)."""
    return tuple(layer.parameter_names) + tuple(layer.state_names)


def saved_shapes(layer, sample_shape):
    """``{name: shape}`` of every array in :func:`saved_names`, a ``None`` where the input decides."""
    shapes = dict(layer.parameter_shapes(sample_shape))
    if layer.state_names:
        shapes.update(layer.state_shapes(sample_shape))
    return shapes


def fits(expected, actual):
    """Whether the shape ``actual`` is ``expected``, where a ``None`` stands for a size that follows from the input."""
    return len(actual) == len(expected) and all(
        got == size if size is not None else 0 < got <= MAX_SAMPLE_ELEMENTS
        for size, got in zip(expected, actual)
    )


def shape_text(shape):
    """``shape`` with ``?`` for the sizes that follow from the input."""
    return str(shape).replace("None", "?")


def parameter_problem(layer, found, dtype, sample_shape, trained):
    """The first reason the parameters ``found`` cannot be ``layer``'s in a model of ``dtype``, or None.

    ``found`` maps each parameter present to its ``(dtype, shape)``: a save
    reads them from the arrays, a load from the ``.npy`` headers, before any
    data. ``sample_shape`` is the shape of the samples that reach the layer
    where it is known; without it only the sizes that the layer's own
    arguments fix are checked. ``trained``: whether the network has run, so
    that every parameter must be there.
    """
    missing = missing_parameters(saved_names(layer), found, trained)
    if missing:
        return ParameterProblem("missing", tuple(missing))
    expected_shapes = saved_shapes(layer, sample_shape) if found else {}
    for name, (array_dtype, shape) in found.items():
        if array_dtype != np.dtype(dtype):
            return ParameterProblem("dtype", (name,), array_dtype, np.dtype(dtype))
        if not fits(expected_shapes[name], tuple(shape)):
            return ParameterProblem("shape", (name,), tuple(shape), expected_shapes[name])
    return None


def all_finite(array):
    """Whether ``array`` holds no NaN or inf: a model file's weights never do, so a model can be trusted to run."""
    return bool(np.isfinite(array).all())
