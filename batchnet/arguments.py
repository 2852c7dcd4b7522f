"""Checks of what users pass to a network: counts, seeds, ``fit``'s settings and the data.

Shared so that each refuses the same things with the same words: floats,
bools and negative numbers are never counts, while NumPy's integers are; a
batch is a float array ``(N, ...)`` with N > 0 and finite values (or an
integer one holding only 0 and 1, such as Aflak's XOR inputs, which needs no
scaling); targets are numbers, one row per sample. Each error names the
method it came from (``where``), what was expected and what came.

Targets are matched to the network's output batch by batch
(:func:`targets_like`): the output's shape, or that shape with extra axes of
size 1 (Aflak's ``(N, 1, 1)`` XOR targets for an ``(N, 1)`` output).
"""

import numbers

import numpy as np

from backends import backend_for, is_device_array


def is_count(value, minimum=0):
    """Whether ``value`` is an integer (Python's or NumPy's, not a bool) of at least ``minimum``."""
    return (not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Integral)
            and value >= minimum)


def count(value, name, where, minimum=1):
    """``value`` as an int (NumPy's integers too, never a bool), at least ``minimum``."""
    if not is_count(value, minimum):
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"NeuralNetwork.{where}: {name} must be {kind} int, got {value!r}")
    return int(value)


def check_fit_settings(epochs, verbose, batch_size, validation_split, validation_data):
    """``(epochs, batch_size)`` as ints, once ``fit``'s plain settings are found valid."""
    epochs = count(epochs, "epochs", "fit", minimum=0)
    if not (isinstance(verbose, numbers.Integral) and verbose in (0, 1, 2)):
        raise ValueError(f"NeuralNetwork.fit: verbose must be 0, 1 or 2, got {verbose!r}")
    batch_size = count(batch_size, "batch_size", "fit")
    if (isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real)
            or not 0 <= validation_split < 1):
        raise ValueError(f"NeuralNetwork.fit: validation_split must be in [0, 1), got {validation_split!r}")
    if validation_split and validation_data is not None:
        raise ValueError("NeuralNetwork.fit: give validation_data or validation_split, not both")
    return epochs, batch_size


def to_host(array):
    """``array`` as a NumPy array, copied from the device if it lives there."""
    if is_device_array(array):
        return backend_for(array).to_numpy(array)
    return np.asarray(array)


def is_one_hot(y):
    """Whether ``y`` is ``(N, classes)`` with classes >= 2 and a single 1 in every row, 0 elsewhere.

    Axes of size 1 besides the sample axis do not count: ``(N, 1, classes)``
    is one-hot too, as :func:`targets_like` gives it to an ``(N, classes)`` output.
    """
    y = y.reshape(len(y), *(size for size in y.shape[1:] if size != 1))
    if y.ndim != 2 or y.shape[1] < 2:
        return False
    return bool(((y == 0) | (y == 1)).all() and (y.sum(axis=1) == 1).all())


def check_inputs(x, sample_shape, where):
    """``x`` as a checked host array; a batch of 2-D images gains a channel axis.

    ``sample_shape`` is the shape of one sample the network last ran on
    (None before any): an array of exactly that shape is one sample, not a batch.
    """
    x = to_host(x)
    # 0/1 integers need no scaling, so they are taken; any other integers are
    # most likely unscaled pixels, which would saturate the first layer
    if x.dtype.kind != "f" and not (x.dtype.kind in "iub" and ((x == 0) | (x == 1)).all()):
        raise TypeError(
            f"NeuralNetwork.{where}: expected float inputs, got dtype {x.dtype} "
            "(scale integer images first, e.g. x / 255; integer inputs of only 0 and 1 are taken as they are)"
        )
    sample = sample_shape
    if sample is not None and 1 <= x.ndim <= len(sample) and x.shape in (sample, sample[:-1]):
        raise ValueError(
            f"NeuralNetwork.{where}: got one sample of shape {x.shape}, expected a batch "
            f"(N, {', '.join(map(str, sample))}); for one sample pass x[None]"
        )
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(
            f"NeuralNetwork.{where}: expected a non-empty batch (N, ...), got shape {x.shape}"
        )
    if x.ndim == 3:
        x = x[..., None]
    if not np.isfinite(x).all():
        raise ValueError(f"NeuralNetwork.{where}: inputs contain NaN or inf")
    return x


def check_data(x, y, loss, sample_shape, where):
    """``(x, y)`` as checked host arrays: inputs as :func:`check_inputs`, targets that ``loss`` can take."""
    x = check_inputs(x, sample_shape, where)
    y = to_host(y)
    if len(y) != len(x):
        raise ValueError(f"NeuralNetwork.{where}: x has {len(x)} samples but y has {len(y)}")
    if y.dtype.kind not in "fiub":
        raise TypeError(f"NeuralNetwork.{where}: expected numeric targets, got dtype {y.dtype}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"NeuralNetwork.{where}: targets contain NaN or inf")
    if getattr(loss, "needs_one_hot", False) and not is_one_hot(y):
        raise ValueError(
            f"NeuralNetwork.{where}: {loss.__name__} needs one-hot targets (N, classes), "
            f"got shape {y.shape}; encode labels with batchnet.one_hot"
        )
    return x, y


def targets_like(y_batch, output):
    """``y_batch`` shaped as the network's ``output`` where the rule allows, else unchanged.

    The rule: targets whose sample shape is the output's sample shape with
    extra axes of size 1 are reshaped to the output's (``(N, 1, 1)`` for
    ``(N, 1)``, ``(N, 1, 10)`` or ``(N, 10, 1)`` for ``(N, 10)``). Nothing else is
    reshaped: no axis of another size is dropped, none is added (``(N,)``
    labels for an ``(N, 1)`` output stay ``(N,)``), and the order of the sizes
    stays. Targets the rule does not fit go to the loss as they are, and
    batchnet's losses refuse any shape but the output's, naming both.
    """
    if y_batch.shape == output.shape or not _drops_to(y_batch.shape[1:], output.shape[1:]):
        return y_batch
    return y_batch.reshape(output.shape)


def _drops_to(shape, target):
    """Whether removing some axes of size 1 from ``shape`` leaves ``target``."""
    if len(shape) <= len(target):
        return False
    matched = 0
    for size in shape:
        if matched < len(target) and size == target[matched]:
            matched += 1
        elif size != 1:
            return False
    return matched == len(target)


def split_validation(x, y, fraction, rng):
    """``(x_train, y_train), (x_held, y_held)``: ``fraction`` of the samples held out after a shuffle by ``rng``."""
    order = rng.permutation(len(x))
    held_out = max(1, int(round(len(x) * fraction)))
    if held_out >= len(x):
        raise ValueError("NeuralNetwork.fit: validation_split leaves no training samples")
    return (x[order[:-held_out]], y[order[:-held_out]]), (x[order[-held_out:]], y[order[-held_out:]])


def check_validation_data(validation_data, x_train, y_train, loss, sample_shape):
    """``validation_data`` as checked host arrays whose samples are shaped like the training ones.

    Checked before training starts, not found wrong after a whole epoch.
    """
    if len(validation_data) != 2:
        raise ValueError("NeuralNetwork.fit: validation_data must be a pair (x, y)")
    x_held, y_held = check_data(*validation_data, loss, sample_shape, "fit validation_data")
    for name, held, train in (("x", x_held, x_train), ("y", y_held, y_train)):
        if held.shape[1:] != train.shape[1:]:
            raise ValueError(
                f"NeuralNetwork.fit: validation_data's {name} has samples of shape {held.shape[1:]}, "
                f"the training {name} {train.shape[1:]}"
            )
    return x_held, y_held
