"""One function per ONNX op batchnet reads: the node's inputs and attributes checked, its layers added.

Each takes ``(flow, node, rest)`` (rest: the nodes after it on the chain) and
returns how many nodes it used: MatMul takes a following Add as its bias.
"""

import numpy as np

from batchnet.activations import LEAKY_RELU_SLOPE
from batchnet.onnx.ops import TO_NCHW, TO_NHWC, add_window_layer, window_geometry

ELEMENTWISE = {"Relu": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "Softplus": "softplus"}


def conv(flow, node, rest):
    values = flow.attributes(node, {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"})
    flow.require_images("Conv")
    if values.get("group", 1) != 1:
        flow.fail(f"group={values['group']} is not supported (batchnet has no grouped convolution)")
    kernel = flow.constant(node, 1, "the kernel")
    if kernel.ndim != 4:
        flow.fail(f"expected a kernel (F, C, KH, KW), got shape {kernel.shape}")
    values.setdefault("kernel_shape", list(kernel.shape[2:]))
    window, stride, padding = window_geometry(flow, node, values, "kernel_shape")
    filters, channels = kernel.shape[:2]
    if tuple(kernel.shape[2:]) != window or channels != flow.shape[2]:
        flow.fail(f"expected a kernel (F, {flow.shape[2]}, {window[0]}, {window[1]}), got {kernel.shape}")
    bias = flow.constant(node, 2, "the bias", required=False)
    if bias is None:
        bias = np.zeros(filters, dtype=flow.dtype)
    if bias.shape != (filters,):
        flow.fail(f"expected a bias of shape ({filters},), got {bias.shape}")
    arrays = {"weights": np.ascontiguousarray(kernel.transpose(2, 3, 1, 0)), "bias": bias}  # (KH, KW, C, F)
    add_window_layer(flow, "ConvolutionalLayer", {"filters_count": int(filters), "filter_shape": window,
                                                  "padding": padding, "stride": stride}, arrays)
    return 1


def max_pool(flow, node, rest):
    values = flow.attributes(node, {"kernel_shape", "strides", "pads", "dilations", "ceil_mode",
                                    "auto_pad", "storage_order"})
    flow.require_images("MaxPool")
    if len(node.output) > 1 and node.output[1]:
        flow.fail("the Indices output is not supported")
    window, stride, padding = window_geometry(flow, node, values, "kernel_shape")
    add_window_layer(flow, "MaxPoolingLayer", {"pool_shape": window, "stride": stride, "padding": padding})
    return 1


def average_pool(flow, node, rest):
    values = flow.attributes(node, {"kernel_shape", "strides", "pads", "dilations", "ceil_mode",
                                    "auto_pad", "count_include_pad"})
    flow.require_images("AveragePool")
    window, stride, padding = window_geometry(flow, node, values, "kernel_shape")
    if padding != (0, 0) and values.get("count_include_pad", 0) != 1:
        flow.fail("count_include_pad=0 with padding is not supported (batchnet counts the zero padding)")
    add_window_layer(flow, "AveragePoolingLayer", {"pool_shape": window, "stride": stride, "padding": padding})
    return 1


def gemm(flow, node, rest):
    values = flow.attributes(node, {"alpha", "beta", "transA", "transB"})
    if values.get("transA", 0):
        flow.fail("transA=1 is not supported (the data is the first input, (N, features))")
    weights = flow.constant(node, 1, "the weights B")
    if weights.ndim != 2:
        flow.fail(f"expected 2-D weights B, got shape {weights.shape}")
    if values.get("transB", 0):
        weights = weights.T
    bias = flow.constant(node, 2, "the bias C", required=False)
    if bias is None:
        bias = np.zeros(weights.shape[1], dtype=flow.dtype)
    flow.dense(weights * flow.dtype.type(values.get("alpha", 1.0)), bias * flow.dtype.type(values.get("beta", 1.0)))
    return 1


def mat_mul(flow, node, rest):
    flow.attributes(node, set())
    weights = flow.constant(node, 1, "the weights")
    used = 1
    bias = np.zeros(weights.shape[-1:], dtype=flow.dtype)
    if rest and rest[0][1].op_type == "Add" and rest[0][1].domain in ("", "ai.onnx"):
        # PyTorch's nn.Linear as MatMul + Add: the Add's other input is the bias
        flow.at(*rest[0])
        flow.attributes(rest[0][1], set())
        bias = flow.constant(rest[0][1], 1, "the bias")
        used = 2
    flow.dense(weights, bias)
    return used


def elementwise(flow, node, rest):
    flow.attributes(node, set())
    flow.add("ActivationLayer", {"activation": ELEMENTWISE[node.op_type]})
    return 1


def leaky_relu(flow, node, rest):
    values = flow.attributes(node, {"alpha"})
    alpha = float(values.get("alpha", LEAKY_RELU_SLOPE))
    if np.float32(alpha) == np.float32(LEAKY_RELU_SLOPE):
        # ONNX keeps alpha as a float32: 0.01 comes back as 0.0099999998, and is the registry's leaky ReLU
        alpha = LEAKY_RELU_SLOPE
    flow.add("ActivationLayer", {"activation": "leaky_relu", "alpha": alpha})
    return 1


def softmax(flow, node, rest):
    values = flow.attributes(node, {"axis"})
    rank = len(flow.shape) + 1
    axis = values.get("axis", -1 if flow.opset >= 13 else 1)
    axis = axis + rank if axis < 0 else axis
    # batchnet's softmax is over its last axis: NHWC's channels are the graph's axis 1 in NCHW
    last = 1 if flow.layout == "nchw" else rank - 1
    coerced = flow.opset < 13 and rank > 2  # before 13 Softmax flattened the axes from `axis` on
    if axis != last or coerced:
        flow.fail(f"softmax over axis {values.get('axis')} of a rank-{rank} tensor (opset {flow.opset}); "
                  "batchnet's softmax is over the channels or features")
    flow.add("ActivationLayer", {"activation": "softmax"})
    return 1


def flatten(flow, node, rest):
    values = flow.attributes(node, {"axis"})
    if values.get("axis", 1) != 1:
        flow.fail(f"axis={values['axis']} is not supported; batchnet flattens from axis 1")
    flow.flatten()
    return 1


def reshape(flow, node, rest):
    values = flow.attributes(node, {"allowzero"})
    target = flow.constant(node, 1, "the shape")
    features = int(np.prod(flow.shape))
    flat = target.ndim == 1 and len(target) == 2 and (
        (target[0] in (0, -1) and target[1] == features) or (target[0] == 0 and target[1] == -1)
    )
    if not flat or values.get("allowzero", 0):
        flow.fail(f"a reshape to {target.tolist()} is not a flatten to (N, {features}), the one batchnet has")
    flow.flatten()
    return 1


def transpose(flow, node, rest):
    perm = flow.attributes(node, {"perm"}).get("perm")
    rank = len(flow.shape) + 1
    if perm == list(range(rank)):
        return 1
    if rank == 4 and flow.layout == "same" and perm == TO_NCHW:
        flow.layout = "nchw"
    elif rank == 4 and flow.layout == "nchw" and perm == TO_NHWC:
        flow.layout = "same"
    else:
        flow.fail(f"perm={perm} on {flow._described()}; batchnet follows only NHWC <-> NCHW transposes")
    return 1


def dropout(flow, node, rest):
    values = flow.attributes(node, {"ratio", "seed", "is_test"})
    ratio = flow.constant(node, 1, "the ratio", required=False, own_type=True)
    training = flow.constant(node, 2, "training_mode", required=False)
    if training is not None and bool(training):
        flow.fail("training_mode=true; batchnet reads Dropout in its inference form")
    rate = float(ratio) if ratio is not None else float(values.get("ratio", 0.5))
    if not 0 <= rate < 1:
        flow.fail(f"ratio {rate} is not in [0, 1)")
    flow.add("DropoutLayer", {"rate": rate})
    return 1


def batch_normalization(flow, node, rest):
    values = flow.attributes(node, {"epsilon", "momentum", "training_mode", "spatial"})
    if values.get("training_mode", 0) or values.get("spatial", 1) != 1:
        flow.fail("only the inference form (training_mode=0, spatial=1) is supported")
    if len([name for name in node.output if name]) > 1:
        flow.fail("the running mean and variance outputs (training form) are not supported")
    if not (flow.layout == "nchw" or (flow.layout == "same" and len(flow.shape) == 1)):
        flow.fail(f"reads NCHW images or (N, features) in batchnet's order, and this tensor is {flow._described()}")
    channels = flow.shape[-1]
    arrays = {}
    for position, name in enumerate(("gamma", "beta", "running_mean", "running_var"), start=1):
        array = flow.constant(node, position, name)
        if array.shape != (channels,):
            flow.fail(f"expected {name} of shape ({channels},), got {array.shape}")
        arrays[name] = array
    if (arrays["running_var"] < 0).any():
        flow.fail("the running variance has negative values")
    flow.add("BatchNormalizationLayer", {"momentum": float(values.get("momentum", 0.9)),
                                         "epsilon": float(values.get("epsilon", 1e-5))}, arrays)
    return 1


def identity(flow, node, rest):
    flow.attributes(node, set())
    return 1


OPS = {
    "Conv": conv, "MaxPool": max_pool, "AveragePool": average_pool, "Gemm": gemm, "MatMul": mat_mul,
    "Relu": elementwise, "Tanh": elementwise, "Sigmoid": elementwise, "Softplus": elementwise,
    "LeakyRelu": leaky_relu,
    "Softmax": softmax, "Flatten": flatten, "Reshape": reshape, "Transpose": transpose,
    "Dropout": dropout, "BatchNormalization": batch_normalization, "Identity": identity,
}
