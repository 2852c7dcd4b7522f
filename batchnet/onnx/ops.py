"""The ONNX ops batchnet reads, each turned into layers, with the layout of the tensor followed.

batchnet holds images NHWC; ONNX's Conv, pools and BatchNormalization read
NCHW. :class:`Flow` keeps, for the tensor between two nodes, how the graph's
tensor relates to batchnet's: ``same`` (the same array), ``nchw`` (the
graph's (C, H, W) is batchnet's (H, W, C) transposed) or ``permuted`` (flat
features in another order: a Flatten of NCHW lists them channel-first, where
batchnet's FlattenLayer lists them (H, W, C)). Transposes between the two
image layouts build no layer; the next dense layer takes the permutation
into its weight rows.
"""

import math

import numpy as np

from batchnet.onnx.architecture import LayerSpec, layer_class
from batchnet.onnx.errors import MAX_SAMPLE_ELEMENTS, OnnxError
from batchnet.onnx.reading import attributes

TO_NCHW, TO_NHWC = [0, 3, 1, 2], [0, 2, 3, 1]


class Flow:
    """The layers built so far and the state of the tensor the next node reads."""

    def __init__(self, where, dtype, onnx_shape, opset, constants, starts_with_nhwc):
        self.graph_where, self.where = where, where
        self.dtype, self.opset, self.constants = np.dtype(dtype), opset, constants
        self.layers = []
        self.permutation = None
        if len(onnx_shape) == 3 and not starts_with_nhwc:
            channels, height, width = onnx_shape
            self.layout, self.shape = "nchw", (height, width, channels)
        else:
            self.layout, self.shape = "same", tuple(onnx_shape)
        self.input_shape = self.shape  # batchnet's input sample, NHWC

    def at(self, index, node):
        self.where = f"{self.graph_where}: node {index} ({node.op_type})"
        return self

    def fail(self, message):
        raise OnnxError(f"{self.where}: {message}")

    def attributes(self, node, allowed):
        return attributes(self.where, node, allowed)

    def constant(self, node, position, what, required=True, own_type=False):
        """The array given as ``node``'s input ``position``; it must be a constant (an initializer).

        Floats must be in the graph's type, unless ONNX gives the input a type of its own
        (``own_type``: Dropout's ratio).
        """
        if position >= len(node.input) or not node.input[position]:
            if required:
                self.fail(f"needs {what} as input {position}")
            return None
        array = self.constants.get(node.input[position])
        if array is None:
            self.fail(f"{what} ({node.input[position]!r}) must be a constant; batchnet loads fixed weights")
        if array.dtype.kind == "f" and array.dtype != self.dtype and not own_type:
            self.fail(f"{what} is {array.dtype}, the graph's input is {self.dtype}")
        return array

    def add(self, layer_type, arguments=None, arrays=None, shape=None):
        if layer_class(layer_type) is None:
            self.fail(f"this batchnet has no {layer_type} (batchnet.layers lacks it)")
        if shape is not None:
            if math.prod(shape) > MAX_SAMPLE_ELEMENTS:
                self.fail(f"output samples of shape {tuple(shape)}, more than {MAX_SAMPLE_ELEMENTS} elements")
            self.shape = tuple(shape)
        self.layers.append(LayerSpec(layer_type, arguments or {}, arrays or {}))

    def require_images(self, op):
        if self.layout != "nchw":
            self.fail(f"{op} reads NCHW images, and this tensor is {self._described()}")

    def _described(self):
        if self.layout == "nchw":
            return "NCHW images"
        if self.layout == "permuted":
            return "flat features in channel-first order"
        return "an NHWC image batch" if len(self.shape) == 3 else f"of rank {len(self.shape) + 1}"

    def flatten(self):
        if len(self.shape) == 1:
            return
        if len(self.shape) != 3:
            self.fail(f"batchnet flattens (N, H, W, C) images, not samples of shape {self.shape}")
        if self.layout == "nchw":
            # graph feature i = (c, y, x) channel-first is batchnet feature (y, x, c)
            self.permutation = np.arange(math.prod(self.shape)).reshape(self.shape).transpose(2, 0, 1).ravel()
            layout = "permuted"
        else:
            layout = "same"
        self.add("FlattenLayer", shape=(math.prod(self.shape),))
        self.layout = layout

    def dense(self, weights, bias):
        """An FCLayer of ``weights`` (in, out) over the graph's feature order."""
        if len(self.shape) != 1:
            self.fail(f"a dense layer reads (N, features), and this tensor is {self._described()}")
        if weights.ndim != 2 or weights.shape[0] != self.shape[0]:
            self.fail(f"expected weights of shape ({self.shape[0]}, out), got {weights.shape}")
        try:
            bias = np.broadcast_to(bias, (1, weights.shape[1])).reshape(-1)
        except ValueError:
            self.fail(f"bias of shape {bias.shape} does not fit {weights.shape[1]} outputs")
        if self.layout == "permuted":
            # x_graph[i] = x_batchnet[perm[i]], so batchnet's row j is the graph's row argsort(perm)[j]
            weights = weights[np.argsort(self.permutation)]
            self.layout, self.permutation = "same", None
        self.add("FCLayer", {"output_size": int(weights.shape[1])},
                 {"weights": weights.astype(self.dtype), "bias": bias.astype(self.dtype)},
                 shape=(weights.shape[1],))

    def finish(self):
        if self.layout == "permuted":
            self.where = self.graph_where
            self.fail("the output is flat features in channel-first order, which batchnet's layers cannot give")


def window_geometry(flow, node, attributes, size_key):
    """``(window, stride, padding)`` of a Conv or pool node, refusing what batchnet does not have."""
    if attributes.get("auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID"):
        flow.fail(f"auto_pad={attributes['auto_pad'].decode(errors='replace')} is not supported; give explicit pads")
    window = attributes.get(size_key)
    if window is None or len(window) != 2:
        flow.fail(f"needs a 2-D {size_key}, got {window}")
    stride = attributes.get("strides", [1, 1])
    pads = attributes.get("pads", [0, 0, 0, 0])
    if len(stride) != 2 or len(pads) != 4:
        flow.fail(f"expected 2 strides and 4 pads, got strides={stride}, pads={pads}")
    if pads[:2] != pads[2:]:
        flow.fail(f"pads={pads} pad the two sides differently; batchnet pads both sides alike")
    if any(dilation != 1 for dilation in attributes.get("dilations", [1, 1])):
        flow.fail(f"dilations={attributes['dilations']} are not supported (batchnet has no dilation)")
    if attributes.get("ceil_mode", 0) != 0:
        flow.fail("ceil_mode=1 is not supported (batchnet rounds output sizes down)")
    return tuple(window), tuple(stride), tuple(pads[:2])


def add_window_layer(flow, layer_type, arguments, arrays=None):
    """Add a Conv or pool layer, its output shape from the layer's own geometry (NHWC)."""
    layer = layer_class(layer_type)
    try:
        built = layer(**arguments)
        shape = built.output_shape((1, *flow.shape))[1:]
    except (TypeError, ValueError) as error:
        flow.fail(str(error))
    flow.add(layer_type, arguments, arrays, shape=shape)

