"""batchnet.onnx.load of graphs in PyTorch's layout, built with onnx.helper, against NumPy on NCHW.

The reference below computes the graph as ONNX defines it, on NCHW arrays,
with loops over output positions: no batchnet code and no layout change, so
a kernel, Flatten order or weight transpose loaded wrongly shows up.
"""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from batchnet.onnx import OnnxError, load  # noqa: E402

RTOL, ATOL = 1e-5, 1e-5  # see tests/test_onnx_export.py
rng = np.random.default_rng(11)


def weights(*shape):
    return rng.standard_normal(shape).astype(np.float32) * 0.5


# -- the NCHW reference -------------------------------------------------------
def conv_nchw(x, kernel, bias, stride, pads):
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[0]), (pads[1], pads[1])))
    filters, _, kh, kw = kernel.shape
    oh, ow = (x.shape[2] - kh) // stride[0] + 1, (x.shape[3] - kw) // stride[1] + 1
    out = np.empty((x.shape[0], filters, oh, ow), np.float64)
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw]
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", window, kernel) + bias
    return out


def pool_nchw(x, size, stride, pads, reduce, fill):
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[0]), (pads[1], pads[1])), constant_values=fill)
    oh, ow = (x.shape[2] - size[0]) // stride[0] + 1, (x.shape[3] - size[1]) // stride[1] + 1
    out = np.empty(x.shape[:2] + (oh, ow), np.float64)
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = reduce(x[:, :, i * stride[0]:i * stride[0] + size[0],
                                       j * stride[1]:j * stride[1] + size[1]], axis=(2, 3))
    return out


def softmax_rows(x):
    exps = np.exp(x - x.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)


# -- graphs ---------------------------------------------------------------------
def model_of(nodes, initializers, input_shape, opset=17):
    graph = helper.make_graph(
        nodes, "torch_like",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", *input_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(array, name) for name, array in initializers.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def save(model, tmp_path):
    path = tmp_path / "torch_like.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def loaded_prediction(path, x_nchw):
    return load(path).predict(np.ascontiguousarray(x_nchw.transpose(0, 2, 3, 1)))


def cnn_graph(flatten_op):
    """Conv(4, 3x3, stride 2, pad 1) - Relu - MaxPool 2 pad 1 - Flatten - Linear(10) - Tanh - Linear(5) - Softmax."""
    kernel, bias = weights(4, 3, 3, 3), weights(4)
    fc1, fc1_bias = weights(10, 4 * 3 * 3), weights(10)  # nn.Linear keeps (out, in): Gemm with transB=1
    fc2, fc2_bias = weights(10, 5), weights(5)          # as MatMul + Add: (in, out)
    flatten = (helper.make_node("Flatten", ["p"], ["f"], axis=1) if flatten_op == "Flatten"
               else helper.make_node("Reshape", ["p", "target"], ["f"]))
    nodes = [
        helper.make_node("Conv", ["x", "k", "kb"], ["c"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1]),
        flatten,
        helper.make_node("Gemm", ["f", "w1", "b1"], ["g"], transB=1),
        helper.make_node("Tanh", ["g"], ["t"]),
        helper.make_node("MatMul", ["t", "w2"], ["m"]),
        helper.make_node("Add", ["m", "b2"], ["a"]),
        helper.make_node("Softmax", ["a"], ["y"], axis=1),
    ]
    initializers = {"k": kernel, "kb": bias, "w1": fc1, "b1": fc1_bias, "w2": fc2, "b2": fc2_bias,
                    "target": np.array([0, -1], np.int64)}

    def reference(x):
        hidden = np.maximum(conv_nchw(x, kernel, bias, (2, 2), (1, 1)), 0)
        hidden = pool_nchw(hidden, (2, 2), (2, 2), (1, 1), np.max, -np.inf)
        hidden = np.tanh(hidden.reshape(len(x), -1) @ fc1.T + fc1_bias)  # channel-first flatten
        return softmax_rows(hidden @ fc2 + fc2_bias)

    return model_of(nodes, initializers, (3, 10, 9)), reference


@pytest.mark.parametrize("flatten_op", ["Flatten", "Reshape"])
def test_a_pytorch_layout_cnn_loads_and_predicts_as_its_nchw_definition(flatten_op, tmp_path):
    model, reference = cnn_graph(flatten_op)
    x = rng.standard_normal((4, 3, 10, 9)).astype(np.float32)
    np.testing.assert_allclose(loaded_prediction(save(model, tmp_path), x), reference(x), rtol=RTOL, atol=ATOL)


def test_the_loaded_network_takes_nhwc_samples(tmp_path):
    model, _ = cnn_graph("Flatten")
    assert load(save(model, tmp_path)).sample_shape == (10, 9, 3)


def test_average_pool_leaky_relu_and_sigmoid_load_as_their_definitions(tmp_path):
    kernel, bias = weights(2, 1, 2, 3), weights(2)
    nodes = [
        helper.make_node("Conv", ["x", "k", "kb"], ["c"], kernel_shape=[2, 3], pads=[1, 0, 1, 0]),
        helper.make_node("LeakyRelu", ["c"], ["l"], alpha=0.125),
        helper.make_node("AveragePool", ["l"], ["p"], kernel_shape=[2, 2], strides=[1, 2], pads=[1, 1, 1, 1],
                         count_include_pad=1),
        helper.make_node("Sigmoid", ["p"], ["y"]),
    ]
    model = model_of(nodes, {"k": kernel, "kb": bias}, (1, 6, 7))
    x = rng.standard_normal((3, 1, 6, 7)).astype(np.float32)
    hidden = conv_nchw(x, kernel, bias, (1, 1), (1, 0))
    hidden = pool_nchw(np.where(hidden > 0, hidden, 0.125 * hidden), (2, 2), (1, 2), (1, 1), np.mean, 0)
    expected = 1 / (1 + np.exp(-hidden))
    # batchnet gives the output NHWC: the reference's NCHW transposed
    np.testing.assert_allclose(loaded_prediction(save(model, tmp_path), x),
                               expected.transpose(0, 2, 3, 1), rtol=RTOL, atol=ATOL)


def test_gemm_alpha_beta_and_an_mlp_on_vectors(tmp_path):
    w, b = weights(6, 4), weights(4)
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["g"], alpha=0.5, beta=2.0),
             helper.make_node("Relu", ["g"], ["y"])]
    x = rng.standard_normal((5, 6)).astype(np.float32)
    expected = np.maximum(0.5 * x @ w + 2.0 * b, 0)
    np.testing.assert_allclose(load(save(model_of(nodes, {"w": w, "b": b}, (6,)), tmp_path)).predict(x),
                               expected, rtol=RTOL, atol=ATOL)


def test_an_old_opset_softmax_over_2d_loads(tmp_path):
    w, b = weights(3, 4), weights(4)
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["g"]), helper.make_node("Softmax", ["g"], ["y"])]
    x = rng.standard_normal((2, 3)).astype(np.float32)
    path = save(model_of(nodes, {"w": w, "b": b}, (3,), opset=11), tmp_path)
    np.testing.assert_allclose(load(path).predict(x), softmax_rows(x @ w + b), rtol=RTOL, atol=ATOL)


def test_a_flatten_whose_order_batchnet_cannot_give_at_the_output_is_refused(tmp_path):
    nodes = [helper.make_node("Flatten", ["x"], ["y"])]
    with pytest.raises(OnnxError, match="channel-first order"):
        load(save(model_of(nodes, {}, (2, 3, 3)), tmp_path))
