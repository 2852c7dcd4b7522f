"""Reading an .onnx file without trusting it: its size, its protobuf, its tensors and attributes.

The file's size is checked before it is read (MAX_FILE_BYTES), and it is
parsed as one ModelProto with no external data (a tensor that points to other
files is refused). A tensor's declared dims are checked against the bytes it
actually holds before any array is made, so a small file cannot declare a
huge tensor and have it allocated.
"""

import math
import os
from pathlib import Path

import numpy as np

from batchnet.onnx.errors import MAX_FILE_BYTES, OnnxError, require_onnx

# ONNX TensorProto data types batchnet reads: float weights, int64 shapes (Reshape)
ELEMENT_TYPES = {1: np.dtype("float32"), 11: np.dtype("float64"), 7: np.dtype("int64")}
# where each type's values sit when they are not in raw_data
TYPED_FIELDS = {1: "float_data", 11: "double_data", 7: "int64_data"}
ATTRIBUTE_FIELDS = {1: "f", 2: "i", 3: "s", 6: "floats", 7: "ints"}


def read_model(path):
    """The ``onnx.ModelProto`` in the file at ``path``; OnnxError for anything that is not one."""
    onnx = require_onnx()
    path = Path(os.fsdecode(path))
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise OnnxError(f"{path}: a folder, not an ONNX file")
        if size > MAX_FILE_BYTES:
            raise OnnxError(
                f"{path}: {size} bytes, more than the {MAX_FILE_BYTES} an ONNX file batchnet reads may have"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as error:
        raise OnnxError(f"{path}: cannot be read ({error})") from None
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as error:  # protobuf's DecodeError, or a RecursionError on deep nesting
        raise OnnxError(f"{path}: not a readable ONNX file (truncated or corrupt: {error})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise OnnxError(f"{path}: not an ONNX model (no graph, or a graph without nodes)")
    return model


def tensor_array(where, tensor):
    """The NumPy array of a TensorProto, its declared size checked against the data it holds."""
    name = tensor.name or "(unnamed)"
    if tensor.data_location == 1:  # EXTERNAL
        raise OnnxError(f"{where}: tensor {name!r} keeps its data in another file, which batchnet does not read")
    dtype = ELEMENT_TYPES.get(tensor.data_type)
    if dtype is None:
        raise OnnxError(
            f"{where}: tensor {name!r} has data type {tensor.data_type}; batchnet reads float, double and int64"
        )
    dims = list(tensor.dims)
    if any(size < 0 for size in dims):
        raise OnnxError(f"{where}: tensor {name!r} has negative dims {dims}")
    count = math.prod(dims)
    if tensor.HasField("raw_data"):
        held = len(tensor.raw_data) // dtype.itemsize
        if len(tensor.raw_data) != count * dtype.itemsize:
            raise OnnxError(
                f"{where}: tensor {name!r} declares dims {dims} ({count} values) "
                f"but holds {len(tensor.raw_data)} bytes ({held} values)"
            )
        values = np.frombuffer(tensor.raw_data, dtype=dtype.newbyteorder("<"))
    else:
        field = getattr(tensor, TYPED_FIELDS[tensor.data_type])
        if len(field) != count:
            raise OnnxError(f"{where}: tensor {name!r} declares dims {dims} ({count} values) but holds {len(field)}")
        values = np.asarray(field, dtype=dtype)
    array = values.astype(dtype, copy=True).reshape(dims)
    if dtype.kind == "f" and not np.isfinite(array).all():
        raise OnnxError(f"{where}: tensor {name!r} contains NaN or inf")
    return array


def attributes(where, node, allowed):
    """``{name: value}`` of ``node``'s attributes, each one of ``allowed`` and of a plain type."""
    values = {}
    for attribute in node.attribute:
        if attribute.name not in allowed:
            raise OnnxError(
                f"{where}: unsupported attribute {attribute.name!r} for {node.op_type}"
                + (f" (batchnet reads {', '.join(sorted(allowed))})" if allowed else "")
            )
        field = ATTRIBUTE_FIELDS.get(attribute.type)
        if field is None:
            raise OnnxError(f"{where}: attribute {attribute.name!r} of {node.op_type} has an unsupported type")
        value = getattr(attribute, field)
        values[attribute.name] = list(value) if field in ("floats", "ints") else value
    return values
