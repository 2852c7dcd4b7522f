"""Corrupt, truncated and hostile .onnx files: one OnnxError each, nothing large allocated."""

import tracemalloc

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import batchnet.onnx.reading  # noqa: E402
from batchnet import models  # noqa: E402
from batchnet.onnx import MAX_FILE_BYTES, OnnxError, export, load  # noqa: E402


def write(tmp_path, data):
    path = tmp_path / "hostile.onnx"
    path.write_bytes(data)
    return path


def graph_file(tmp_path, nodes, initializers=(), input_shape=(4,)):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *input_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return write(tmp_path, model.SerializeToString())


def test_onnx_error_is_a_value_error():
    assert issubclass(OnnxError, ValueError)


def test_garbage_bytes_are_not_an_onnx_file(tmp_path):
    with pytest.raises(OnnxError, match="not a readable ONNX file|not an ONNX model"):
        load(write(tmp_path, np.random.default_rng(0).bytes(4096)))


def test_a_truncated_export_is_refused(tmp_path):
    network = models.tutorial_mlp()
    network.predict(np.zeros((1, 28, 28, 1), np.float32))
    export(network, tmp_path / "whole.onnx")
    data = (tmp_path / "whole.onnx").read_bytes()
    with pytest.raises(OnnxError):
        load(write(tmp_path, data[:len(data) // 2]))


def test_an_empty_file_is_refused(tmp_path):
    with pytest.raises(OnnxError, match="not an ONNX model"):
        load(write(tmp_path, b""))


def test_a_file_above_the_size_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(batchnet.onnx.reading, "MAX_FILE_BYTES", 100)
    with pytest.raises(OnnxError, match="more than the 100"):
        load(write(tmp_path, b"\0" * 101))
    assert MAX_FILE_BYTES == 256 << 20


def test_a_huge_declared_tensor_is_refused_without_allocating_it(tmp_path):
    huge = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20], raw_data=b"\0" * 16)
    path = graph_file(tmp_path, [helper.make_node("Gemm", ["x", "w"], ["y"])], [huge])
    tracemalloc.start()
    try:
        with pytest.raises(OnnxError, match=r"declares dims \[1048576, 1048576\]"):
            load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 << 20


def test_negative_dims_are_refused(tmp_path):
    bad = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[-1, 4])
    with pytest.raises(OnnxError, match="negative dims"):
        load(graph_file(tmp_path, [helper.make_node("Gemm", ["x", "w"], ["y"])], [bad]))


def test_external_data_is_refused(tmp_path):
    tensor = numpy_helper.from_array(np.zeros((4, 2), np.float32), "w")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    with pytest.raises(OnnxError, match="another file"):
        load(graph_file(tmp_path, [helper.make_node("Gemm", ["x", "w"], ["y"])], [tensor]))


def test_an_unsupported_op_is_named_with_its_node(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Erf", ["r"], ["y"])]
    with pytest.raises(OnnxError, match=r"batchnet.onnx.load: .*unsupported op 'Erf' \(node 1\)"):
        load(graph_file(tmp_path, nodes))


def test_an_op_of_another_domain_is_unsupported(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], domain="com.example")]
    with pytest.raises(OnnxError, match="unsupported op 'com.example.Relu' \\(node 0\\)"):
        load(graph_file(tmp_path, nodes))


def test_an_unsupported_attribute_is_named(tmp_path):
    kernel = numpy_helper.from_array(np.zeros((2, 2, 3, 3), np.float32), "k")
    nodes = [helper.make_node("Conv", ["x", "k"], ["y"], kernel_shape=[3, 3], group=2)]
    with pytest.raises(OnnxError, match=r"node 0 \(Conv\): group=2 is not supported"):
        load(graph_file(tmp_path, nodes, [kernel], input_shape=(4, 5, 5)))


def test_an_unknown_attribute_is_named(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], mystery=1)]
    with pytest.raises(OnnxError, match="unsupported attribute 'mystery' for Relu"):
        load(graph_file(tmp_path, nodes))


def test_asymmetric_pads_are_refused(tmp_path):
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], pads=[0, 0, 1, 1])]
    with pytest.raises(OnnxError, match="pad the two sides differently"):
        load(graph_file(tmp_path, nodes, input_shape=(1, 4, 4)))


def test_a_branching_graph_is_refused(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Tanh", ["x"], ["b"]),
             helper.make_node("Add", ["a", "b"], ["y"])]
    with pytest.raises(OnnxError, match="read by 2 nodes"):
        load(graph_file(tmp_path, nodes))


def test_weights_that_do_not_fit_the_input_are_refused(tmp_path):
    w = numpy_helper.from_array(np.zeros((5, 2), np.float32), "w")
    with pytest.raises(OnnxError, match=r"expected weights of shape \(4, out\), got \(5, 2\)"):
        load(graph_file(tmp_path, [helper.make_node("Gemm", ["x", "w"], ["y"])], [w]))


def test_a_huge_declared_input_is_refused(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    with pytest.raises(OnnxError, match="more than 67108864 elements"):
        load(graph_file(tmp_path, nodes, input_shape=(1, 1 << 14, 1 << 14)))


def test_a_conv_output_too_large_for_memory_is_refused_before_it_runs(tmp_path):
    kernel = numpy_helper.from_array(np.zeros((4096, 1, 1, 1), np.float32), "k")
    nodes = [helper.make_node("Conv", ["x", "k"], ["y"], kernel_shape=[1, 1])]
    with pytest.raises(OnnxError, match="more than 67108864 elements"):
        load(graph_file(tmp_path, nodes, [kernel], input_shape=(1, 256, 256)))


def test_nan_weights_are_refused(tmp_path):
    w = numpy_helper.from_array(np.full((4, 2), np.nan, np.float32), "w")
    with pytest.raises(OnnxError, match="NaN or inf"):
        load(graph_file(tmp_path, [helper.make_node("Gemm", ["x", "w"], ["y"])], [w]))


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.onnx")
