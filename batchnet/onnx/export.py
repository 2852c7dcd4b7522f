"""``export(network, path)``: a batchnet network as a standard-op ONNX graph.

The graph takes the network's own input, NHWC images ``(N, H, W, C)`` or
vectors ``(N, features)`` with a symbolic batch size ``N``, and gives its
output in batchnet's layout. ONNX's Conv, MaxPool, AveragePool and
BatchNormalization work on NCHW, so the graph transposes to NCHW before the
first of them and back to NHWC before a Flatten or a dense layer, which then
sees the features in batchnet's own (H, W, C) order and keeps its weights
as they are.

Opset 17: onnxruntime has run it since 1.11 and it is PyTorch's default
export opset; it has Softmax over a single axis (since 13: batchnet's
softmax is over the last axis, not the 2-D coercion of older opsets), Dropout
with its ratio as an input (12) and BatchNormalization's training_mode (15).
"""

import numpy as np

from batchnet.onnx.architecture import describe
from batchnet.onnx.errors import require_onnx
from batchnet.saving.atomic import check_output_path, write_atomically

OPSET = 17
IR_VERSION = 8  # the IR of opset 17: a newer one would be refused by older runtimes
INPUT_NAME, OUTPUT_NAME = "input", "output"
LAYOUT_KEY = "batchnet:input_layout"  # metadata: the layout of a 4-D input
TO_NCHW, TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)
# batchnet activation name -> ONNX op
ACTIVATION_OPS = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "softmax": "Softmax",
                  "leaky_relu": "LeakyRelu", "softplus": "Softplus"}


def export(network, path):
    """Write ``network`` (which must have run once, so its input shape is known) to ``path`` as ONNX.

    The file is written whole or not at all (an existing one is kept on failure).
    Losses are not part of an ONNX graph and are left out.
    """
    try:
        path = check_output_path(path)
    except TypeError as error:
        raise TypeError(f"batchnet.onnx.export: {error}") from None
    model = to_model(network)
    data = model.SerializeToString()
    write_atomically(path, lambda file: file.write(data))
    return path


def to_model(network):
    """The ``onnx.ModelProto`` of ``network``, checked by ``onnx.checker``."""
    onnx = require_onnx()
    dtype, input_shape, specs = describe(network, "batchnet.onnx.export")
    graph = _GraphWriter(onnx, dtype, len(input_shape) == 3)
    for index, spec in enumerate(specs):
        graph.add_layer(index, spec)
    graph.to_layout("NHWC")
    element = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    declared = onnx.helper.make_tensor_value_info(INPUT_NAME, element, ["N", *input_shape])
    # the output's sizes from one zero sample: the layers know them only by running
    output_shape = network.predict(np.zeros((1, *input_shape), dtype=dtype)).shape[1:]
    output = onnx.helper.make_tensor_value_info(OUTPUT_NAME, element, ["N", *map(int, output_shape)])
    graph.nodes.append(onnx.helper.make_node("Identity", [graph.current], [OUTPUT_NAME]))
    proto = onnx.helper.make_graph(graph.nodes, "batchnet", [declared], [output], graph.initializers)
    model = onnx.helper.make_model(proto, producer_name="batchnet",
                                   opset_imports=[onnx.helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    # an image input with no Transpose first (a Flatten) would read as NCHW, PyTorch's layout
    onnx.helper.set_model_props(model, {LAYOUT_KEY: "NHWC"})
    onnx.checker.check_model(model)
    return model


class _GraphWriter:
    """Nodes and initializers so far, the name of the tensor a next node reads, and its layout."""

    def __init__(self, onnx, dtype, images):
        self.onnx, self.dtype = onnx, np.dtype(dtype)
        self.nodes, self.initializers = [], []
        self.current = INPUT_NAME
        self.layout = "NHWC" if images else "flat"

    def _name(self, stem):
        return f"{stem}_{len(self.nodes)}"

    def constant(self, stem, values, dtype=None):
        name = self._name(stem)
        # np.array, not ascontiguousarray: that makes a scalar 1-D, and Dropout's ratio must be a scalar
        array = np.array(values, dtype=self.dtype if dtype is None else dtype, order="C")
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op, inputs=(), **attributes):
        output = self._name(op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, [self.current, *inputs], [output], **attributes))
        self.current = output

    def to_layout(self, layout):
        """Transpose the current 4-D tensor to ``layout`` (NCHW or NHWC) if it is not there."""
        if self.layout in ("NHWC", "NCHW") and self.layout != layout:
            self.node("Transpose", perm=list(TO_NCHW if layout == "NCHW" else TO_NHWC))
            self.layout = layout

    def add_layer(self, index, spec):
        write = getattr(self, f"_{spec.type}")
        write(spec.arguments, spec.arrays)

    def _FCLayer(self, arguments, arrays):
        if self.layout != "flat":
            self._FlattenLayer({}, {})
        self.node("Gemm", [self.constant("weights", arrays["weights"]), self.constant("bias", arrays["bias"])])

    def _ConvolutionalLayer(self, arguments, arrays):
        self.to_layout("NCHW")
        # (KH, KW, C, F) -> (F, C, KH, KW)
        kernel = arrays["weights"].transpose(3, 2, 0, 1)
        self.node("Conv", [self.constant("weights", kernel), self.constant("bias", arrays["bias"])],
                  kernel_shape=list(arguments["filter_shape"]), strides=list(arguments["stride"]),
                  pads=_pads(arguments["padding"]))

    def _pool(self, op, arguments, **extra):
        self.to_layout("NCHW")
        self.node(op, kernel_shape=list(arguments["pool_shape"]), strides=list(arguments["stride"]),
                  pads=_pads(arguments["padding"]), **extra)

    def _MaxPoolingLayer(self, arguments, arrays):
        # ONNX MaxPool leaves padding out of the max, as batchnet's -inf padding does
        self._pool("MaxPool", arguments)

    def _AveragePoolingLayer(self, arguments, arrays):
        # batchnet counts the zero padding towards the mean
        self._pool("AveragePool", arguments, count_include_pad=1)

    def _FlattenLayer(self, arguments, arrays):
        self.to_layout("NHWC")  # batchnet flattens (H, W, C) in that order
        self.node("Flatten", axis=1)
        self.layout = "flat"

    def _ActivationLayer(self, arguments, arrays):
        name = arguments["activation"]
        op = ACTIVATION_OPS[name]
        if op == "Softmax":
            # batchnet's softmax is over the last axis: the channels, axis 1 in NCHW
            self.node(op, axis=1 if self.layout == "NCHW" else -1)
        elif op == "LeakyRelu":
            self.node(op, alpha=float(arguments["alpha"]))
        else:
            self.node(op)

    def _DropoutLayer(self, arguments, arrays):
        # the inference form: training_mode left out (false), so Dropout passes its input through
        # as a double (ONNX lets the ratio's type differ from the data's): the rate comes back exactly
        self.node("Dropout", [self.constant("ratio", arguments["rate"], dtype=np.float64)])

    def _BatchNormalizationLayer(self, arguments, arrays):
        self.to_layout("NCHW")  # the channel axis is 1 in ONNX; a (N, features) input has it there already
        inputs = [self.constant(name, arrays[name]) for name in ("gamma", "beta", "running_mean", "running_var")]
        self.node("BatchNormalization", inputs, epsilon=float(arguments["epsilon"]),
                  momentum=float(arguments["momentum"]))


def _pads(padding):
    """batchnet's symmetric ``(rows, cols)`` as ONNX's ``[top, left, bottom, right]``."""
    rows, cols = padding
    return [rows, cols, rows, cols]
