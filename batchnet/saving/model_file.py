"""Saving and loading whole models: one ``.npz``, architecture as JSON plus the weights.

Nothing is pickled, and loading runs no code from the file: the JSON names
layer types, activations, losses and initializers, and each name is looked up
in a fixed registry. The archive's member names and each array's ``.npy``
header (shape, dtype) are checked against the architecture before any data is
read, so a small hostile file cannot make a load allocate much more than the
model it describes; arrays are read with ``allow_pickle=False``. A save goes
to a temporary file that is renamed over the target only once complete.
"""

import errno
import json
import math
import zipfile
import zlib
from functools import partial
from pathlib import Path

import numpy as np

from backends import backend_for
from batchnet.activations import ACTIVATIONS
from batchnet.saving.atomic import check_output_path, write_atomically
from batchnet.initializers import INITIALIZERS
from batchnet.layers import (
    ActivationLayer,
    AveragePoolingLayer,
    ConvolutionalLayer,
    FCLayer,
    FlattenLayer,
    MaxPoolingLayer,
)
from batchnet.layers.parametric import ParametricLayer
from batchnet.losses import LOSSES
from batchnet.network import NeuralNetwork
from batchnet.random import new_generator

FORMAT = "batchnet-model"
FORMAT_VERSION = 1
ARCHITECTURE_KEY = "architecture"
DTYPES = ("float32", "float64")

# The most elements one sample may have at a layer's input: 2**26 is a 4K RGB
# image (25M) with room to spare, 512 MiB in float64. The check run of a load
# makes a zero sample of the recorded input shape, and a hostile file could
# otherwise ask for petabytes; the bound on the product bounds every axis too.
# A sample is (features,) or (H, W, C): eight axes are plenty.
MAX_SAMPLE_ELEMENTS = 1 << 26
MAX_SAMPLE_AXES = 8
SAMPLE_SHAPE_RULE = f"1 to {MAX_SAMPLE_AXES} sizes of at least 1, with at most {MAX_SAMPLE_ELEMENTS} elements in all"
# A model of these layers takes a few thousand characters of JSON; the bound
# stops a file from having a huge description read and parsed.
MAX_ARCHITECTURE_CHARACTERS = 1 << 20
NPY_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}
# what reading a corrupt zip member or .npy array raises (a RecursionError is a RuntimeError)
READ_ERRORS = (OSError, ValueError, EOFError, RuntimeError, NotImplementedError,
               zipfile.BadZipFile, zlib.error)

# For each layer type that can be saved: the constructor arguments stored in the JSON.
LAYER_ARGUMENTS = {
    FCLayer: ("output_size", "weight_initializer", "bias_initializer"),
    ConvolutionalLayer: ("filters_count", "filter_shape", "padding", "stride",
                         "weight_initializer", "bias_initializer"),
    MaxPoolingLayer: ("pool_shape", "stride", "padding"),
    AveragePoolingLayer: ("pool_shape", "stride", "padding"),
    FlattenLayer: (),
    ActivationLayer: ("activation",),
}
LAYER_TYPES = {layer_type.__name__: layer_type for layer_type in LAYER_ARGUMENTS}


class ModelFileError(ValueError):
    """A model file is corrupt, truncated, or describes something batchnet will not build."""


def save_model(network, path):
    """Write ``network`` (architecture, loss, dtype and weights) to ``path`` as one ``.npz``.

    An existing file at ``path`` is replaced only once the new one is complete
    and on disk, and keeps its permissions; a new file gets the usual ones
    (``0o666`` less the umask). Errors name ``path``, never the temporary file.
    """
    if not isinstance(network, NeuralNetwork):
        swapped = " (the arguments are the other way round)" if isinstance(path, NeuralNetwork) else ""
        raise TypeError(
            f"save_model(network, path): expected a NeuralNetwork first, got {type(network).__name__}{swapped}"
        )
    input_shape = None if network.sample_shape is None else list(network.sample_shape)
    _check_loadable(network, input_shape)
    try:
        path = check_output_path(path)
    except TypeError as error:
        raise TypeError(f"save_model: {error}") from None
    architecture = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "dtype": network.dtype.name,
        "loss": None,
        "input_shape": input_shape,
        "layers": [_layer_description(layer) for layer in network.layers],
    }
    if network.loss is not None:
        architecture["loss"] = _registered_name(LOSSES, (network.loss, network.loss_prime), "loss")
    arrays = {ARCHITECTURE_KEY: np.array(json.dumps(architecture))}
    for index, layer in enumerate(network.layers):
        for name, array in layer.parameters().items():
            # by the array's own type: weights set by hand on a layer that never ran have no backend yet
            host = arrays[_parameter_key(index, name)] = backend_for(array).to_numpy(array)
            if not np.isfinite(host).all():  # load_model refuses them: so does the save
                raise ValueError(f"save_model: cannot save: layer {index} ({layer.name}) has NaN or inf in {name}")
    write_atomically(path, lambda file: np.savez(file, **arrays))


def load_model(path, backend=None):
    """The network saved at ``path``, on ``backend`` (default: as ``NeuralNetwork``'s)."""
    path = Path(path)
    with _open_archive(path) as archive:
        members = _members(path, archive)
        architecture = _read_architecture(path, archive, members.pop(ARCHITECTURE_KEY, None))
        dtype, input_shape = architecture["dtype"], architecture["input_shape"]
        network = NeuralNetwork(backend=backend, dtype=dtype)
        layers = architecture.get("layers")
        if not isinstance(layers, list) or not layers:
            raise ModelFileError(f"{path}: 'layers' must be a non-empty list")
        layers = [_build_layer(path, index, description, dtype) for index, description in enumerate(layers)]
        unexpected = set(members) - {
            _parameter_key(index, name) for index, layer in enumerate(layers) for name in layer.parameter_names
        }
        if unexpected:
            raise ModelFileError(f"{path}: unexpected arrays {sorted(unexpected)}")
        sample = None
        if input_shape is not None:
            # the check run below binds the layers as predict would, with one generator
            rng = new_generator()
            for layer in layers:
                layer.bind(network.backend, rng)
            sample = network.backend.xp.zeros([1, *input_shape], dtype=dtype)
        for index, layer in enumerate(layers):
            sample_shape = None if sample is None else sample.shape[1:]
            parameters = _read_parameters(path, archive, members, index, layer, dtype, sample_shape)
            for name, values in parameters.items():
                setattr(layer, name, network.backend.asarray(values, dtype=dtype))
            network.add(layer)
            if sample is not None:
                sample = _check_runs(path, layer, sample)
    if architecture["loss"] is not None:
        network.use(*_lookup(path, LOSSES, architecture["loss"], "loss"))
    return network


# -- saving -------------------------------------------------------------------
def _registered_name(registry, functions, what):
    for name, registered in registry.items():
        if tuple(registered) == tuple(functions):
            return name
    raise ValueError(
        f"save_model: the {what} {functions[0].__name__} is not one of {sorted(registry)}; "
        "only registered functions can be saved"
    )


def _check_loadable(network, input_shape):
    """Refuse what load_model would refuse, so that no save writes a file that cannot be read back."""
    if not network.layers:
        raise ValueError("save_model: cannot save: the network has no layers")
    if input_shape is not None and not _is_sample_shape(input_shape):
        raise ValueError(
            f"save_model: cannot save: the network ran on samples of shape {tuple(input_shape)}, "
            f"and load_model reads {SAMPLE_SHAPE_RULE}"
        )
    for index, layer in enumerate(network.layers):
        parameters = layer.parameters()
        missing = _missing_parameters(layer.parameter_names, parameters, trained=input_shape is not None)
        if missing:
            raise ValueError(
                f"save_model: cannot save: layer {index} ({layer.name}) has no {' or '.join(missing)} yet: "
                "train or predict once before saving, or save before training"
            )
        if parameters:
            _check_parameters_fit(network, index, layer, parameters)


def _check_parameters_fit(network, index, layer, parameters):
    """Parameters set by hand must be of the dtype and shapes that load_model will expect."""
    # the shape of the samples that last reached the layer, if it ran
    sample_shape = layer.sample_shape
    expected_shapes = layer.parameter_shapes(sample_shape)
    for name, array in parameters.items():
        problem = None
        if array.dtype != network.dtype:
            problem = f"{name} of dtype {array.dtype}, the network is {network.dtype}"
        elif not _fits(expected_shapes[name], tuple(array.shape)):
            problem = f"{name} of shape {tuple(array.shape)}, where it expects {_shape_text(expected_shapes[name])}"
        if problem is not None:
            raise ValueError(f"save_model: cannot save: layer {index} ({layer.name}) has {problem}")


def _layer_description(layer):
    layer_type = type(layer)
    if layer_type not in LAYER_ARGUMENTS:
        raise ValueError(f"save_model: cannot save a layer of type {layer_type.__name__}")
    arguments = {}
    for argument in LAYER_ARGUMENTS[layer_type]:
        if argument == "activation":
            arguments[argument] = _registered_name(
                ACTIVATIONS, (layer.activation, layer.activation_prime), "activation")
        elif argument.endswith("_initializer"):
            initializer = getattr(layer, argument)
            # a custom initializer only matters for a reset; the saved weights do not need it
            if INITIALIZERS.get(initializer.__name__) is initializer:
                arguments[argument] = initializer.__name__
        else:
            value = getattr(layer, argument)
            arguments[argument] = list(value) if isinstance(value, tuple) else value
    return {"type": layer_type.__name__, "arguments": arguments}


# -- loading --------------------------------------------------------------------
def _open_archive(path):
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "No such model file", str(path)) from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: a folder, not a batchnet model file") from None
    except zipfile.BadZipFile:
        raise ModelFileError(f"{path}: not a readable batchnet model file (truncated, or not a .npz archive)") from None
    except READ_ERRORS as error:
        raise ModelFileError(f"{path}: not a readable batchnet model file ({error})") from None


def _members(path, archive):
    """The archive's members by array name, from the zip's directory alone: nothing is decompressed."""
    members = {}
    for info in archive.infolist():
        name, suffix = info.filename[:-len(".npy")], info.filename[-len(".npy"):]
        if suffix != ".npy" or not name:
            raise ModelFileError(
                f"{path}: unexpected member {info.filename!r}; a batchnet model file holds only .npy arrays"
            )
        if name in members:
            raise ModelFileError(f"{path}: member {info.filename!r} appears twice")
        members[name] = info
    return members


def _parameter_key(index, name):
    return f"layer{index}.{name}"


def _read_member(path, archive, info, read):
    """``read(member)`` on the zip member ``info``, its failures as ModelFileError."""
    try:
        with archive.open(info) as member:
            return read(member)
    except MemoryError:
        raise ModelFileError(f"{path}: {info.filename} is too large to load into memory") from None
    except READ_ERRORS as error:
        raise ModelFileError(f"{path}: {info.filename} cannot be read ({error})") from None


def _npy_header(member):
    """``(shape, dtype)`` from the header of a ``.npy`` file, its data left unread."""
    version = np.lib.format.read_magic(member)
    read_header = NPY_HEADER_READERS.get(version)
    if read_header is None:
        raise ValueError(f".npy format version {version[0]}.{version[1]}, expected 1.0 or 2.0")
    shape, _, dtype = read_header(member)
    return shape, dtype


_read_npy_array = partial(np.lib.format.read_array, allow_pickle=False)


def _read_architecture(path, archive, info):
    not_a_model = ModelFileError(f"{path}: no architecture description (not a batchnet model file)")
    if info is None:
        raise not_a_model
    shape, text_dtype = _read_member(path, archive, info, _npy_header)
    if text_dtype.kind != "U" or shape != ():
        raise not_a_model
    characters = text_dtype.itemsize // np.dtype("U1").itemsize
    if characters > MAX_ARCHITECTURE_CHARACTERS:
        raise ModelFileError(
            f"{path}: the architecture description has {characters} characters, "
            f"more than the {MAX_ARCHITECTURE_CHARACTERS} a batchnet model may have"
        )
    text = _read_member(path, archive, info, _read_npy_array)
    try:
        architecture = json.loads(str(text))
    except RecursionError:
        raise ModelFileError(f"{path}: the architecture is nested too deeply for a batchnet model") from None
    except ValueError as error:  # JSONDecodeError, or an integer of more digits than Python converts
        raise ModelFileError(f"{path}: the architecture is not valid JSON ({error})") from None
    if not isinstance(architecture, dict) or architecture.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a batchnet model file")
    if architecture.get("version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {architecture.get('version')!r}, "
            f"this batchnet reads version {FORMAT_VERSION}"
        )
    if architecture.get("dtype") not in DTYPES:
        raise ModelFileError(f"{path}: dtype must be one of {DTYPES}, got {architecture.get('dtype')!r}")
    shape = architecture.get("input_shape")
    if shape is not None and not _is_sample_shape(shape):
        raise ModelFileError(f"{path}: bad input_shape {shape!r}: expected a list of {SAMPLE_SHAPE_RULE}")
    architecture.setdefault("loss", None)
    architecture.setdefault("input_shape", None)
    return architecture


def _is_sample_shape(shape):
    """Whether ``shape`` (a list, as JSON gives it) follows SAMPLE_SHAPE_RULE."""
    if not isinstance(shape, list) or not 0 < len(shape) <= MAX_SAMPLE_AXES:
        return False
    if not all(isinstance(size, int) and not isinstance(size, bool) and size > 0 for size in shape):
        return False
    return math.prod(shape) <= MAX_SAMPLE_ELEMENTS


def _lookup(where, registry, name, what):
    if not isinstance(name, str) or name not in registry:
        raise ModelFileError(f"{where}: unknown {what} {name!r}; expected one of {sorted(registry)}")
    return registry[name]


def _build_layer(path, index, description, dtype):
    where = f"{path}: layer {index}"
    if not isinstance(description, dict):
        raise ModelFileError(f"{where}: expected an object, got {description!r}")
    layer_type = _lookup(where, LAYER_TYPES, description.get("type"), "layer type")
    arguments = description.get("arguments", {})
    if not isinstance(arguments, dict):
        raise ModelFileError(f"{where}: arguments must be an object")
    unexpected = set(arguments) - set(LAYER_ARGUMENTS[layer_type])
    if unexpected:
        raise ModelFileError(f"{where}: unexpected arguments {sorted(unexpected)} for {layer_type.__name__}")
    arguments = {
        name: _decode_argument(where, name, value) for name, value in arguments.items()
    }
    if layer_type is ActivationLayer:
        if "activation" not in arguments:
            raise ModelFileError(f"{where}: ActivationLayer needs an activation")
        return ActivationLayer(*arguments["activation"])
    if issubclass(layer_type, ParametricLayer):
        arguments["dtype"] = dtype
    try:
        return layer_type(**arguments)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{where}: {error}") from None


def _decode_argument(where, name, value):
    if name == "activation":
        return _lookup(where, ACTIVATIONS, value, "activation")
    if name.endswith("_initializer"):
        return _lookup(where, INITIALIZERS, value, "initializer")
    if isinstance(value, list):
        return tuple(value)
    return value


def _read_parameters(path, archive, members, index, layer, dtype, sample_shape):
    """Layer ``index``'s parameters, each checked by its header before its data is read.

    ``sample_shape`` is the shape of the samples that reach the layer, where
    the file records the network's input shape; without it only the sizes
    that the layer's own arguments fix are known.
    """
    present = [name for name in layer.parameter_names if _parameter_key(index, name) in members]
    missing = _missing_parameters(layer.parameter_names, present, trained=sample_shape is not None)
    if missing:
        raise ModelFileError(f"{path}: layer {index} ({layer.name}) lacks {', '.join(missing)}")
    expected_shapes = layer.parameter_shapes(sample_shape) if present else {}
    parameters = {}
    for name in present:
        key = _parameter_key(index, name)
        info = members[key]
        shape, array_dtype = _read_member(path, archive, info, _npy_header)
        if array_dtype != np.dtype(dtype):  # from the header: an object array is refused unpickled
            pickled = " (Python objects, which would have to be unpickled)" if array_dtype.hasobject else ""
            raise ModelFileError(f"{path}: {key} has dtype {array_dtype}{pickled}, the model is {dtype}")
        where = f"{path}: layer {index} ({layer.name})"
        _check_shape(where, name, shape, expected_shapes[name], sample_shape)
        array = _read_member(path, archive, info, _read_npy_array)
        if not np.isfinite(array).all():
            raise ModelFileError(f"{path}: {key} contains NaN or inf")
        parameters[name] = array
    return parameters


def _fits(expected, actual):
    """Whether the shape ``actual`` is ``expected``, where a ``None`` stands for a size that follows from the input."""
    return len(actual) == len(expected) and all(
        got == size if size is not None else 0 < got <= MAX_SAMPLE_ELEMENTS
        for size, got in zip(expected, actual)
    )


def _shape_text(shape):
    """``shape`` with ``?`` for the sizes that follow from the input."""
    return str(shape).replace("None", "?")


def _check_shape(where, name, actual, expected, sample_shape):
    """``actual`` must be ``expected`` (see _fits)."""
    if _fits(expected, actual):
        return
    if sample_shape is None:
        raise ModelFileError(
            f"{where} expects {name} of shape {_shape_text(expected)}, got {actual} "
            f"(? follows from the input, whose shape the file does not record: 1 to {MAX_SAMPLE_ELEMENTS})"
        )
    raise ModelFileError(
        f"{where} expects {name} of shape {expected} for input samples of shape {tuple(sample_shape)}, "
        f"got {actual}: the saved weights and layers do not fit together"
    )


def _missing_parameters(names, present, trained):
    """Those of ``names`` not in ``present`` where a model file needs them, for saving and loading alike.

    A layer has all its parameters or none (not trained yet), and all of them
    once the network has run (``trained``: its input shape is known).
    """
    if not present and not trained:
        return []
    return [name for name in names if name not in present]


def _check_runs(path, layer, sample):
    """``layer``'s output for a zero ``sample``, so that mismatched layers fail here, not later."""
    try:
        return layer.forward_propagation(sample)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: the saved layers do not fit together ({error})") from None
    except MemoryError:
        raise ModelFileError(
            f"{path}: {layer.name} needs more memory than is available to run one sample"
        ) from None
