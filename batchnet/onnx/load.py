"""``load(path, backend=None)``: a NeuralNetwork from an ONNX graph of the ops batchnet has.

The graph must be one chain of nodes from its one input to its one output
(batchnet networks are sequential); Constant nodes and initializers give the
weights. The network built takes NHWC input, as every batchnet network does:
for a graph with NCHW input (PyTorch's export) pass ``x.transpose(0, 2, 3, 1)``;
its ``sample_shape`` says which. The ops, and how NCHW tensors are followed
through the graph, are in :mod:`batchnet.onnx.ops`. A loaded network has no
loss until ``.use(...)``.
"""

import math

import numpy as np

from batchnet.onnx.architecture import build
from batchnet.onnx.errors import MAX_SAMPLE_ELEMENTS, OnnxError, require_onnx
from batchnet.onnx.export import LAYOUT_KEY
from batchnet.onnx.op_table import OPS
from batchnet.onnx.ops import Flow
from batchnet.onnx.reading import read_model, tensor_array

# the oldest default-domain opset read: older ones differ in attributes the ops here check
MIN_OPSET = 7
GRAPH_TYPES = {1: "float32", 11: "float64"}


def load(path, backend=None):
    """The network of the ONNX file at ``path`` on ``backend`` (default: as NeuralNetwork's); no loss."""
    onnx = require_onnx()
    model = read_model(path)
    where = f"batchnet.onnx.load: {path}"
    opset = _opset(where, model, onnx.defs.onnx_opset_version())
    graph = model.graph
    constants = _constants(where, graph)
    data_input, dtype, onnx_shape = _data_input(where, graph, constants)
    chain = _chain(where, graph, data_input, constants)
    flow = Flow(where, dtype, onnx_shape, opset, constants,
                starts_with_nhwc=_declared_nhwc(model) or bool(chain) and _transposes_to_nchw(chain[0][1]))
    position = 0
    while position < len(chain):
        index, node = chain[position]
        handler = OPS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
        if handler is None:
            op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
            raise OnnxError(f"{where}: unsupported op {op!r} (node {index}); batchnet reads {', '.join(sorted(OPS))}")
        position += handler(flow.at(index, node), node, chain[position + 1:])
    flow.finish()
    if not flow.layers:
        raise OnnxError(f"{where}: the graph has no layers batchnet would build (only reshapes and identities)")
    try:
        network = build(dtype, flow.layers, backend)
        # one zero sample through every layer: weights and shapes that do not fit fail here, not later
        network.predict(np.zeros((1, *flow.input_shape), dtype=dtype))
    except (TypeError, ValueError) as error:
        raise OnnxError(f"{where}: the graph's layers do not fit together ({error})") from None
    return network


def _opset(where, model, newest):
    versions = [entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")]
    if len(versions) != 1 or not MIN_OPSET <= versions[0] <= newest:
        raise OnnxError(
            f"{where}: default-domain opset {versions or 'missing'}; batchnet reads opsets {MIN_OPSET} to {newest}"
        )
    return versions[0]


def _constants(where, graph):
    """Arrays by tensor name: the initializers and the outputs of Constant nodes."""
    constants = {}
    for tensor in graph.initializer:
        constants[tensor.name] = tensor_array(where, tensor)
    for index, node in enumerate(graph.node):
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            values = [attribute for attribute in node.attribute]
            if len(values) != 1 or values[0].name != "value" or len(node.output) != 1:
                raise OnnxError(f"{where}: node {index} (Constant) must hold one tensor 'value'")
            constants[node.output[0]] = tensor_array(f"{where}: node {index} (Constant)", values[0].t)
    return constants


def _data_input(where, graph, constants):
    """The one graph input that is not a constant: ``(name, dtype, sample shape in the graph's own axes)``."""
    inputs = [value for value in graph.input if value.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise OnnxError(
            f"{where}: the graph has {len(inputs)} data inputs and {len(graph.output)} outputs; "
            "batchnet networks have one of each"
        )
    value = inputs[0]
    tensor_type = value.type.tensor_type
    dtype = GRAPH_TYPES.get(tensor_type.elem_type)
    if not value.type.HasField("tensor_type") or dtype is None:
        raise OnnxError(f"{where}: input {value.name!r} must be a float or double tensor")
    dims = tensor_type.shape.dim
    if not tensor_type.HasField("shape") or len(dims) not in (2, 4):
        raise OnnxError(f"{where}: input {value.name!r} must be (N, features) or (N, C, H, W) / (N, H, W, C)")
    shape = []
    for axis, dim in enumerate(dims[1:], start=1):
        if not dim.HasField("dim_value") or dim.dim_value < 1:
            raise OnnxError(
                f"{where}: input {value.name!r} axis {axis} has no fixed size ({dim.dim_param or 'unknown'}); "
                "batchnet needs the sample's sizes"
            )
        shape.append(dim.dim_value)
    if math.prod(shape) > MAX_SAMPLE_ELEMENTS:
        raise OnnxError(f"{where}: input samples of shape {tuple(shape)}, more than {MAX_SAMPLE_ELEMENTS} elements")
    return value.name, dtype, tuple(shape)


def _chain(where, graph, data_input, constants):
    """``[(node index, node)]`` from the input to the output, each reading the last one's output."""
    readers = {}
    for index, node in enumerate(graph.node):
        for name in node.input:
            if name and name not in constants:
                readers.setdefault(name, []).append((index, node))
    output = graph.output[0].name
    chain, current = [], data_input
    while current != output:
        following = readers.get(current, [])
        if len(following) != 1 or following[0][1].input[0] != current:
            raise OnnxError(
                f"{where}: tensor {current!r} is read by {len(following)} nodes; batchnet loads "
                "a single chain of nodes, each reading the one before as its first input"
            )
        index, node = following[0]
        chain.append((index, node))
        if len(chain) > len(graph.node) or not node.output:
            raise OnnxError(f"{where}: the nodes from the input never reach the output {output!r}")
        current = node.output[0]
    on_chain = {index for index, _ in chain}
    for index, node in enumerate(graph.node):
        if index not in on_chain and node.op_type != "Constant":
            raise OnnxError(
                f"{where}: node {index} ({node.op_type}) is off the chain from input to output; "
                "batchnet loads sequential graphs only"
            )
    return chain


def _declared_nhwc(model):
    """Whether the model says its image input is NHWC, as batchnet's export does."""
    return any(entry.key == LAYOUT_KEY and entry.value == "NHWC" for entry in model.metadata_props)


def _transposes_to_nchw(node):
    """Whether ``node`` turns an NHWC graph input to NCHW (as batchnet's export writes)."""
    if node.op_type != "Transpose":
        return False
    perm = [list(attribute.ints) for attribute in node.attribute if attribute.name == "perm"]
    return perm == [[0, 3, 1, 2]]


