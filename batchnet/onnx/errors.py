"""The one error an ONNX file can raise, and the bounds that keep a hostile file small in memory."""


class OnnxError(ValueError):
    """An ONNX file is corrupt, hostile, or uses an op or attribute batchnet cannot translate."""


# The largest .onnx file read at all. The size is checked before a byte is read:
# parsing a protobuf takes a few times the file's size, and the networks batchnet
# builds are far below this (network B is 1.7 MB; ResNet-50 would be 100 MB).
MAX_FILE_BYTES = 256 << 20
# The most elements one sample may have at any point of the graph, as for a
# batchnet model file (a 4K RGB image with room to spare).
MAX_SAMPLE_ELEMENTS = 1 << 26


def require_onnx():
    """The ``onnx`` module, or an ImportError saying how to install it."""
    try:
        import onnx
    except ImportError as error:
        raise ImportError(
            f"batchnet.onnx needs the onnx package ({error}): pip install 'batchnet[onnx]'"
        ) from None
    return onnx
