"""Model files as tests make and tamper with them: small trained networks, rewritten archives, raw .npy bytes."""

import io
import json
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

from batchnet import (
    ActivationLayer,
    AveragePoolingLayer,
    ConvolutionalLayer,
    FCLayer,
    FlattenLayer,
    MaxPoolingLayer,
    NeuralNetwork,
    mse,
    mse_prime,
    one_hot,
    relu,
    relu_prime,
)
from batchnet.saving.model_file import ModelFileError, load_model


def every_layer_network(dtype):
    """A small network using every layer type that can be saved."""
    network = NeuralNetwork(dtype=dtype)
    network.add(ConvolutionalLayer(3, (3, 2), padding=(1, 0), stride=(1, 2), weight_initializer="glorot_normal"))
    network.add(ActivationLayer(relu, relu_prime))
    network.add(MaxPoolingLayer((2, 2), stride=1, padding=1))
    network.add(AveragePoolingLayer(2, stride=2))
    network.add(FlattenLayer())
    network.add(FCLayer(4, bias_initializer="tutorial_uniform"))
    return network.use(mse, mse_prime)



def trained(network, shape=(6, 8, 8, 1), classes=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random(shape)
    y = one_hot(rng.integers(0, classes, shape[0]), classes)
    return network.fit(x, y, epochs=1, learning_rate=0.01, batch_size=3, seed=seed, verbose=0), x



def rewrite(path, architecture=None, **replace):
    """Rewrite the model file at ``path`` with a changed architecture and/or arrays."""
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    if architecture is not None:
        arrays["architecture"] = np.array(json.dumps(architecture))
    arrays.update(replace)
    with open(path, "wb") as output:
        np.savez(output, **{name: value for name, value in arrays.items() if value is not None})



def architecture_of(path):
    with np.load(path) as archive:
        return json.loads(str(archive["architecture"]))



def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()



def npy_header(shape, dtype="<f4"):
    """A .npy header announcing ``shape``, without the data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()



def write_archive(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)



def members_of(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}



def peak_memory_of_loading(path):
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError) as error:
            load_model(path)
        return tracemalloc.get_traced_memory()[1], error.value
    finally:
        tracemalloc.stop()


def write_model_file(path, layers, input_shape, dtype="float32", arrays=None):
    """A model file written by hand: ``layers`` as the architecture lists them, ``arrays`` by member name."""
    architecture = {"format": "batchnet-model", "version": 1, "dtype": dtype, "loss": None,
                    "input_shape": None if input_shape is None else list(input_shape), "layers": layers}
    members = {"architecture.npy": npy_bytes(np.array(json.dumps(architecture)))}
    members.update({f"{name}.npy": npy_bytes(array) for name, array in (arrays or {}).items()})
    write_archive(path, members)
    return path



# -- zip surgery: what the zip's central directory and local headers record ---------------
CENTRAL_ENTRY = struct.Struct("<4s4B4HL2L5H2L")  # zipfile's structCentralDir


def member_info(content, name):
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return archive.getinfo(name)



def central_entry_offset(content, name):
    """Where member ``name``'s entry starts in the central directory of the zip bytes ``content``."""
    offset = content.index(b"PK\x01\x02")
    while offset >= 0:
        name_length = struct.unpack_from("<H", content, offset + 28)[0]
        if content[offset + CENTRAL_ENTRY.size:offset + CENTRAL_ENTRY.size + name_length] == name.encode():
            return offset
        offset = content.find(b"PK\x01\x02", offset + 1)
    raise KeyError(name)



def data_offset(content, name):
    """Where member ``name``'s data starts, after its local header."""
    info = member_info(content, name)
    name_length, extra_length = struct.unpack_from("<HH", content, info.header_offset + 26)
    return info.header_offset + 30 + name_length + extra_length



def record_member(content, name, size=None, stored=None, crc=None, local=True):
    """``content`` with member ``name``'s recorded CRC and sizes (``size`` in all, ``stored`` as stored)
    replaced in its central directory entry and, with ``local``, in its local header as np.savez writes it
    (zip64: the sizes in the extra field)."""
    info = member_info(content, name)
    size = info.file_size if size is None else size
    stored = info.compress_size if stored is None else stored
    crc = info.CRC if crc is None else crc
    content = bytearray(content)
    struct.pack_into("<LLL", content, central_entry_offset(content, name) + 16, crc, stored, size)
    if local:
        struct.pack_into("<L", content, info.header_offset + 14, crc)
        name_length = struct.unpack_from("<H", content, info.header_offset + 26)[0]
        extra = info.header_offset + 30 + name_length
        assert struct.unpack_from("<HH", content, extra) == (1, 16), "expected a zip64 local header, as np.savez writes"
        struct.pack_into("<QQ", content, extra + 4, size, stored)
    return bytes(content)
