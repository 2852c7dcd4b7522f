"""The model file: one ``.npz`` holding the architecture as JSON and each parameter as a ``.npy`` array.

Nothing is pickled, and loading runs no code from the file (the architecture
is built by :mod:`batchnet.saving.architecture` from fixed registries). The
archive's member names and each array's ``.npy`` header (shape, dtype) are
checked against the architecture before any data is read, and what the
load's one-sample check run would cost against :mod:`batchnet.saving.budget`
before it runs, so a small hostile file cannot make a load allocate much
more than the model it describes, or run for long; arrays are read with
``allow_pickle=False``, whole, and against the zip's CRC and recorded sizes
(:mod:`batchnet.saving.archive`). A save goes to a temporary file that is
renamed over the target only once complete (:mod:`batchnet.saving.atomic`).
What save and load both refuse is decided by :mod:`batchnet.saving.checks`
and the budget.
"""

import json
from pathlib import Path

import numpy as np

from backends import backend_for
from batchnet.network import NeuralNetwork
from batchnet.saving.architecture import (
    ArchitectureError,
    build_network,
    check_budget,
    describe_network,
    set_parameters,
)
from batchnet.saving.archive import ModelFileError, members, npy_header, open_archive, read_member, read_npy_array
from batchnet.saving.atomic import check_output_path, write_atomically
from batchnet.saving.checks import MAX_SAMPLE_ELEMENTS, all_finite, parameter_problem, saved_names, shape_text
from batchnet.saving.messages import clipped, quoted

FORMAT = "batchnet-model"
FORMAT_VERSION = 1
ARCHITECTURE_KEY = "architecture"
# A model of these layers takes a few thousand characters of JSON; the bound
# stops a file from having a huge description read and parsed.
MAX_ARCHITECTURE_CHARACTERS = 1 << 20


def save_model(network, path):
    """Write ``network`` (architecture, loss, dtype and weights) to ``path`` as one ``.npz``.

    An existing file at ``path`` is replaced only once the new one is complete
    and on disk, and keeps its permissions; a new file gets the usual ones
    (``0o666`` less the umask). Errors name ``path``, never the temporary file.
    A network that :func:`load_model` would refuse is refused before any file is touched.
    """
    if not isinstance(network, NeuralNetwork):
        swapped = " (the arguments are the other way round)" if isinstance(path, NeuralNetwork) else ""
        raise TypeError(
            f"save_model(network, path): expected a NeuralNetwork first, got {type(network).__name__}{swapped}"
        )
    try:
        description = describe_network(network)
    except ArchitectureError as error:
        raise ValueError(f"save_model: {error}") from None
    for index, layer in enumerate(network.layers):
        _check_saveable(network, index, layer)
    if network.sample_shape is not None:
        try:
            check_budget(network.layers, network.sample_shape, network.dtype.itemsize)
        except ArchitectureError as error:
            raise ValueError(f"save_model: cannot save: load_model would refuse the file: {error}") from None
    try:
        path = check_output_path(path)
    except TypeError as error:
        raise TypeError(f"save_model: {error}") from None
    architecture = {"format": FORMAT, "version": FORMAT_VERSION, **description}
    arrays = {ARCHITECTURE_KEY: np.array(json.dumps(architecture))}
    for index, layer in enumerate(network.layers):
        for name, array in layer.saved_arrays().items():
            # by the array's own type: weights set by hand on a layer that never ran have no backend yet
            host = arrays[_parameter_key(index, name)] = backend_for(array).to_numpy(array)
            if not all_finite(host):
                raise ValueError(f"save_model: cannot save: layer {index} ({layer.name}) has NaN or inf in {name}")
    write_atomically(path, lambda file: np.savez(file, **arrays))


def load_model(path, backend=None):
    """The network saved at ``path``, on ``backend`` (default: as ``NeuralNetwork``'s).

    Anything wrong with the file is a one-line :class:`ModelFileError` (a
    missing one a FileNotFoundError): see "What a bad file gets" in the README.
    """
    path = Path(path)
    try:
        return _load(path, backend)
    except MemoryError:  # what the checks let through still has to fit in this machine's memory
        raise ModelFileError(f"{path}: needs more memory than is available to load") from None


def _load(path, backend):
    with open_archive(path) as archive:
        arrays = members(path, archive)
        architecture = _read_architecture(path, archive, arrays.pop(ARCHITECTURE_KEY, None))
        try:
            network = build_network(architecture, backend)
        except ArchitectureError as error:
            raise ModelFileError(f"{path}: {error}") from None
        unexpected = set(arrays) - {
            _parameter_key(index, name) for index, layer in enumerate(network.layers) for name in saved_names(layer)
        }
        if unexpected:
            raise ModelFileError(f"{path}: unexpected arrays {quoted(sorted(unexpected))}")

        def parameters_for(index, layer, sample_shape):
            return _read_parameters(path, archive, arrays, index, layer, network.dtype, sample_shape)

        try:
            set_parameters(network, architecture.get("input_shape"), parameters_for)
        except ArchitectureError as error:
            raise ModelFileError(f"{path}: {error}") from None
    return network


def _check_saveable(network, index, layer):
    """Refuse the parameters load_model would refuse, so that no save writes a file that cannot be read back."""
    found = {name: (array.dtype, tuple(array.shape)) for name, array in layer.saved_arrays().items()}
    # layer.sample_shape: the samples that last reached the layer, if it ran
    problem = parameter_problem(layer, found, network.dtype, layer.sample_shape,
                                trained=network.sample_shape is not None)
    if problem is None:
        return
    where = f"save_model: cannot save: layer {index} ({layer.name})"
    if problem.kind == "missing":
        raise ValueError(f"{where} has no {' or '.join(problem.names)} yet: "
                         "train or predict once before saving, or save before training")
    name, = problem.names
    if problem.kind == "dtype":
        raise ValueError(f"{where} has {name} of dtype {problem.got}, the network is {problem.expected}")
    raise ValueError(f"{where} has {name} of shape {problem.got}, where it expects {shape_text(problem.expected)}")


def _parameter_key(index, name):
    return f"layer{index}.{name}"


def _read_architecture(path, archive, info):
    """The JSON description in member ``info``, its size bounded before it is read; its format and version checked."""
    not_a_model = ModelFileError(f"{path}: no architecture description (not a batchnet model file)")
    if info is None:
        raise not_a_model
    shape, text_dtype = read_member(path, archive, info, npy_header, whole=False)
    if text_dtype.kind != "U" or shape != ():
        raise not_a_model
    characters = text_dtype.itemsize // np.dtype("U1").itemsize
    if characters > MAX_ARCHITECTURE_CHARACTERS:
        raise ModelFileError(
            f"{path}: the architecture description has {characters} characters, "
            f"more than the {MAX_ARCHITECTURE_CHARACTERS} a batchnet model may have"
        )
    text = read_member(path, archive, info, read_npy_array)
    try:
        architecture = json.loads(str(text))
    except RecursionError:
        raise ModelFileError(f"{path}: the architecture is nested too deeply for a batchnet model") from None
    except ValueError as error:  # JSONDecodeError, or an integer of more digits than Python converts
        raise ModelFileError(f"{path}: the architecture is not valid JSON ({clipped(error)})") from None
    if not isinstance(architecture, dict) or architecture.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a batchnet model file")
    if architecture.get("version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {quoted(architecture.get('version'))}, "
            f"this batchnet reads version {FORMAT_VERSION}"
        )
    return architecture


def _read_parameters(path, archive, members, index, layer, dtype, sample_shape):
    """Layer ``index``'s parameters, checked by their headers before their data is read.

    ``sample_shape`` is the shape of the samples that reach the layer, where
    the file records the network's input shape; without it only the sizes
    that the layer's own arguments fix are known.
    """
    keys = {name: _parameter_key(index, name) for name in saved_names(layer)
            if _parameter_key(index, name) in members}
    found = {}
    for name, key in keys.items():
        shape, array_dtype = read_member(path, archive, members[key], npy_header, whole=False)
        found[name] = (array_dtype, shape)
    problem = parameter_problem(layer, found, dtype, sample_shape, trained=sample_shape is not None)
    if problem is not None:
        _refuse(path, index, layer, keys, problem, sample_shape)
    parameters = {}
    for name, key in keys.items():
        array = read_member(path, archive, members[key], read_npy_array)
        if not all_finite(array):
            raise ModelFileError(f"{path}: {key} contains NaN or inf")
        parameters[name] = array
    return parameters


def _refuse(path, index, layer, keys, problem, sample_shape):
    """The ModelFileError that says what ``problem`` (a checks.ParameterProblem) is in this file."""
    where = f"{path}: layer {index} ({layer.name})"
    if problem.kind == "missing":
        raise ModelFileError(f"{where} lacks {', '.join(problem.names)}")
    name, = problem.names
    if problem.kind == "dtype":
        # from the header: an object array is refused unpickled
        pickled = " (Python objects, which would have to be unpickled)" if problem.got.hasobject else ""
        raise ModelFileError(
            f"{path}: {keys[name]} has dtype {clipped(problem.got)}{pickled}, the model is {problem.expected}")
    if sample_shape is None:
        raise ModelFileError(
            f"{where} expects {name} of shape {shape_text(problem.expected)}, got {clipped(problem.got)} "
            f"(? follows from the input, whose shape the file does not record: 1 to {MAX_SAMPLE_ELEMENTS})"
        )
    raise ModelFileError(
        f"{where} expects {name} of shape {problem.expected} for input samples of shape {tuple(sample_shape)}, "
        f"got {clipped(problem.got)}: the saved weights and layers do not fit together"
    )
