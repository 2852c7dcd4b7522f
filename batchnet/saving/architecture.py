"""A network's architecture as plain data, and the network built back from it.

``describe_network`` gives the JSON-able description of a network (layer
types and constructor arguments, the names of its activations, loss and
initializers, its dtype and sample shape); ``build_network`` makes the layers
again, without weights. Neither knows where the description is stored: the
``.npz`` model file keeps it as JSON beside the weights, and any other format
can do the same.

Building runs no code named by the description: every layer type,
activation, loss and initializer is looked up by name in a fixed registry.
``set_parameters`` gives the built layers their weights, checking that they
fit together.
"""

from batchnet.activations import ACTIVATIONS
from batchnet.initializers import INITIALIZERS
from batchnet.layers import (
    ActivationLayer,
    AveragePoolingLayer,
    BatchNormalizationLayer,
    ConvolutionalLayer,
    DropoutLayer,
    FCLayer,
    FlattenLayer,
    MaxPoolingLayer,
)
from batchnet.layers.parametric import ParametricLayer
from batchnet.losses import LOSSES
from batchnet.network import NeuralNetwork
from batchnet.random import new_generator
from batchnet.saving.budget import OverBudget, check_run_cost
from batchnet.saving.checks import SAMPLE_SHAPE_RULE, is_sample_shape
from batchnet.saving.messages import clipped, quoted

DTYPES = ("float32", "float64")

# For each layer type that can be described: the constructor arguments stored.
LAYER_ARGUMENTS = {
    FCLayer: ("output_size", "weight_initializer", "bias_initializer"),
    ConvolutionalLayer: ("filters_count", "filter_shape", "padding", "stride",
                         "weight_initializer", "bias_initializer"),
    MaxPoolingLayer: ("pool_shape", "stride", "padding"),
    AveragePoolingLayer: ("pool_shape", "stride", "padding"),
    FlattenLayer: (),
    ActivationLayer: ("activation",),
    DropoutLayer: ("rate",),
    BatchNormalizationLayer: ("momentum", "epsilon"),
}
# the layer types whose constructor takes the network's dtype
TYPED_LAYERS = (ParametricLayer, BatchNormalizationLayer)
LAYER_TYPES = {layer_type.__name__: layer_type for layer_type in LAYER_ARGUMENTS}


class ArchitectureError(ValueError):
    """A network that cannot be described, or a description that batchnet will not build."""


def describe_network(network):
    """``network``'s architecture as JSON-able data: ``{"dtype", "loss", "input_shape", "layers"}``.

    ``input_shape`` is the sample shape the network last ran on (None before
    any run); each layer is ``{"type": class name, "arguments": {...}}``.
    Only what :func:`build_network` builds is described: anything else is an
    ArchitectureError.
    """
    if not network.layers:
        raise ArchitectureError("cannot save: the network has no layers")
    input_shape = None if network.sample_shape is None else list(network.sample_shape)
    if input_shape is not None and not is_sample_shape(input_shape):
        raise ArchitectureError(
            f"cannot save: the network ran on samples of shape {tuple(input_shape)}, "
            f"and load_model reads {SAMPLE_SHAPE_RULE}"
        )
    loss = None
    if network.loss is not None:
        loss = _registered_name(LOSSES, (network.loss, network.loss_prime), "loss")
    return {
        "dtype": network.dtype.name,
        "loss": loss,
        "input_shape": input_shape,
        "layers": [_describe_layer(layer) for layer in network.layers],
    }


def build_network(description, backend=None):
    """The ``NeuralNetwork`` that ``description`` (as :func:`describe_network` gives it) describes,
    on ``backend``; its layers have no weights yet.

    A description that names anything outside the registries, or arguments
    the layers refuse, is an ArchitectureError.
    """
    if not isinstance(description, dict):
        raise ArchitectureError(f"expected a description (an object), got {type(description).__name__}")
    dtype = description.get("dtype")
    if dtype not in DTYPES:
        raise ArchitectureError(f"dtype must be one of {DTYPES}, got {quoted(dtype)}")
    shape = description.get("input_shape")
    if shape is not None and not is_sample_shape(shape):
        raise ArchitectureError(f"bad input_shape {quoted(shape)}: expected a list of {SAMPLE_SHAPE_RULE}")
    network = NeuralNetwork(backend=backend, dtype=dtype)
    layers = description.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ArchitectureError("'layers' must be a non-empty list")
    for index, layer_description in enumerate(layers):
        try:
            network.add(_build_layer(layer_description, dtype))
        except ArchitectureError as error:
            raise ArchitectureError(f"layer {index}: {error}") from None
    loss = description.get("loss")
    if loss is not None:
        network.use(*_lookup(LOSSES, loss, "loss"))
    return network


def set_parameters(network, input_shape, parameters_for):
    """Give the layers of a built ``network`` their parameters, checking that the layers chain.

    ``parameters_for(index, layer, sample_shape)`` returns layer ``index``'s
    parameters and state (running statistics) as host arrays, ``sample_shape`` being the shape of the samples
    that reach it (None where ``input_shape`` is None). With ``input_shape``
    known, one zero sample runs through each layer once it has its
    parameters, so that layers that do not fit together fail here, not at
    the first ``predict``; what that run would cost is checked against the
    budget of :mod:`batchnet.saving.budget` before anything runs or is read.
    """
    backend, dtype = network.backend, network.dtype
    sample = None
    if input_shape is not None:
        check_budget(network.layers, input_shape, dtype.itemsize)
        # bound as predict would bind them, with one generator
        rng = new_generator()
        for layer in network.layers:
            layer.bind(backend, rng)
        try:
            sample = backend.xp.zeros([1, *input_shape], dtype=dtype)
        except MemoryError:
            raise ArchitectureError(f"an input sample of shape {tuple(input_shape)} needs more memory "
                                    "than is available") from None
    for index, layer in enumerate(network.layers):
        sample_shape = None if sample is None else sample.shape[1:]
        for name, values in parameters_for(index, layer, sample_shape).items():
            setattr(layer, name, backend.asarray(values, dtype=dtype))
        if sample is not None:
            sample = _check_runs(layer, sample)


def check_budget(layers, input_shape, itemsize):
    """:func:`batchnet.saving.budget.check_run_cost`, its refusals as ArchitectureErrors."""
    try:
        check_run_cost(layers, input_shape, itemsize)
    except OverBudget as error:
        raise ArchitectureError(str(error)) from None
    except ValueError as error:  # a layer that cannot take its input, worded as its forward words it
        raise ArchitectureError(f"the saved layers do not fit together ({clipped(error)})") from None


# -- describing -----------------------------------------------------------------
def _registered_name(registry, functions, what):
    for name, registered in registry.items():
        if tuple(registered) == tuple(functions):
            return name
    raise ArchitectureError(
        f"the {what} {functions[0].__name__} is not one of {sorted(registry)}; "
        "only registered functions can be saved"
    )


def _describe_layer(layer):
    layer_type = type(layer)
    if layer_type not in LAYER_ARGUMENTS:
        raise ArchitectureError(f"cannot save a layer of type {layer_type.__name__}")
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


# -- building -------------------------------------------------------------------
def _lookup(registry, name, what):
    if not isinstance(name, str) or name not in registry:
        raise ArchitectureError(f"unknown {what} {quoted(name)}; expected one of {sorted(registry)}")
    return registry[name]


def _build_layer(description, dtype):
    if not isinstance(description, dict):
        raise ArchitectureError(f"expected an object, got {quoted(description)}")
    layer_type = _lookup(LAYER_TYPES, description.get("type"), "layer type")
    arguments = description.get("arguments", {})
    if not isinstance(arguments, dict):
        raise ArchitectureError("arguments must be an object")
    unexpected = set(arguments) - set(LAYER_ARGUMENTS[layer_type])
    if unexpected:
        raise ArchitectureError(f"unexpected arguments {quoted(sorted(unexpected))} for {layer_type.__name__}")
    arguments = {name: _decode_argument(name, value) for name, value in arguments.items()}
    if layer_type is ActivationLayer:
        if "activation" not in arguments:
            raise ArchitectureError("ActivationLayer needs an activation")
        return ActivationLayer(*arguments["activation"])
    if issubclass(layer_type, TYPED_LAYERS):
        arguments["dtype"] = dtype
    try:
        return layer_type(**arguments)
    except (TypeError, ValueError) as error:  # the layer's own words, which quote the argument from the file
        raise ArchitectureError(clipped(error)) from None


def _decode_argument(name, value):
    if name == "activation":
        return _lookup(ACTIVATIONS, value, "activation")
    if name.endswith("_initializer"):
        return _lookup(INITIALIZERS, value, "initializer")
    if isinstance(value, list):
        return tuple(value)
    return value


def _check_runs(layer, sample):
    """``layer``'s output for a zero ``sample``, so that mismatched layers fail here, not later."""
    try:
        output = layer.forward_propagation(sample)
    except (TypeError, ValueError) as error:
        raise ArchitectureError(f"the saved layers do not fit together ({clipped(error)})") from None
    except MemoryError:
        raise ArchitectureError(f"{layer.name} needs more memory than is available to run one sample") from None
    # the layer keeps its input, output and working arrays for a backward pass that will not come:
    # dropped, so that the run holds one layer's arrays at a time, not every layer's
    layer._forget_batch_state()
    return output
