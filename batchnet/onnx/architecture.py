"""The one adapter between networks and the plain description ONNX export and load work on.

A description is ``(dtype, input_shape, layers)``: ``layers`` a list of
:class:`LayerSpec` (a layer type's name, its constructor arguments, its
arrays as host NumPy arrays). Export reads a network into one; load builds a
network from one. Only the layers' public attributes are read here, so that
when batchnet.saving.architecture's describe_network/build_network land,
these two functions are the only code to switch over.

DropoutLayer and BatchNormalizationLayer are looked up by name in
batchnet.layers, so that this module works in a tree that lacks them.
"""

from dataclasses import dataclass, field

import numpy as np

import batchnet.layers
from backends import backend_for
from batchnet.activations import ACTIVATIONS, leaky_relu_pair, leaky_relu_slope
from batchnet.network import NeuralNetwork

# constructor arguments read from (and given back to) each layer type, and its arrays
LAYER_ARGUMENTS = {
    "FCLayer": ("output_size",),
    "ConvolutionalLayer": ("filters_count", "filter_shape", "padding", "stride"),
    "MaxPoolingLayer": ("pool_shape", "stride", "padding"),
    "AveragePoolingLayer": ("pool_shape", "stride", "padding"),
    "FlattenLayer": (),
    "ActivationLayer": (),  # the activation's name (and a leaky ReLU's slope as alpha), see _activation_arguments
    "DropoutLayer": ("rate",),
    "BatchNormalizationLayer": ("momentum", "epsilon"),
}
LAYER_ARRAYS = {
    "FCLayer": ("weights", "bias"),
    "ConvolutionalLayer": ("weights", "bias"),
    "BatchNormalizationLayer": ("gamma", "beta", "running_mean", "running_var"),
}
# layers whose constructors take the network's dtype
TAKES_DTYPE = ("FCLayer", "ConvolutionalLayer")


@dataclass
class LayerSpec:
    """One layer: its type's name, constructor arguments, and arrays by attribute name."""

    type: str
    arguments: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)


def layer_class(name):
    """The batchnet.layers class called ``name``, or ``None`` where this tree has none."""
    return getattr(batchnet.layers, name, None) if name in LAYER_ARGUMENTS else None


def describe(network, where):
    """``(dtype, input_shape, [LayerSpec])`` of a network that has run; ``where`` starts the errors."""
    if not isinstance(network, NeuralNetwork):
        raise TypeError(f"{where}: expected a NeuralNetwork, got {type(network).__name__}")
    if not network.layers:
        raise ValueError(f"{where}: the network has no layers")
    if network.sample_shape is None:
        raise ValueError(
            f"{where}: the network has not run yet, so its input shape is unknown: predict or train once first"
        )
    specs = []
    for index, layer in enumerate(network.layers):
        name = type(layer).__name__
        if name not in LAYER_ARGUMENTS or layer_class(name) is not type(layer):
            raise ValueError(f"{where}: layer {index} is a {name}, which has no ONNX translation")
        arguments = {argument: getattr(layer, argument) for argument in LAYER_ARGUMENTS[name]}
        if name == "ActivationLayer":
            arguments = _activation_arguments(layer, index, where)
        arrays = {}
        for array_name in LAYER_ARRAYS.get(name, ()):
            array = getattr(layer, array_name, None)
            if array is None:
                raise ValueError(f"{where}: layer {index} ({name}) has no {array_name} yet")
            # by the array's own type: weights set by hand may have no backend yet
            arrays[array_name] = backend_for(array).to_numpy(array)
        specs.append(LayerSpec(name, arguments, arrays))
    return network.dtype, tuple(network.sample_shape), specs


def _activation_arguments(layer, index, where):
    slope = leaky_relu_slope(layer.activation)
    if slope is not None:  # the registry's default slope or leaky_relu_pair(slope)'s
        return {"activation": "leaky_relu", "alpha": slope}
    for name, (activation, _) in ACTIVATIONS.items():
        if activation is layer.activation:
            return {"activation": name}
    raise ValueError(
        f"{where}: layer {index} (ActivationLayer) uses {getattr(layer.activation, '__name__', layer.activation)}, "
        f"which is not one of {sorted(ACTIVATIONS)} or a batchnet.activations.leaky_relu_pair(slope)"
    )


def build(dtype, specs, backend=None):
    """A NeuralNetwork of ``specs`` (see :class:`LayerSpec`) on ``backend``, its arrays in ``dtype``; no loss."""
    network = NeuralNetwork(backend=backend, dtype=dtype)
    for spec in specs:
        arguments = dict(spec.arguments)
        if spec.type == "ActivationLayer":
            activation = arguments["activation"]
            pair = leaky_relu_pair(arguments["alpha"]) if activation == "leaky_relu" else ACTIVATIONS[activation]
            layer = batchnet.layers.ActivationLayer(*pair)
        else:
            if spec.type in TAKES_DTYPE:
                arguments["dtype"] = dtype
            layer = layer_class(spec.type)(**arguments)
        for name, array in spec.arrays.items():
            setattr(layer, name, network.backend.asarray(np.asarray(array, dtype=dtype), dtype=dtype))
        network.add(layer)
    return network
