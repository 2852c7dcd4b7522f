"""ONNX interchange: ``export(network, path)`` writes a standard-op graph, ``load(path)`` reads one.

Both go through :mod:`batchnet.onnx.architecture`, the plain description of a
network that the model file uses too; they need the ``onnx`` package
(``pip install 'batchnet[onnx]'``), imported only when called. Every problem
with a file is an :class:`OnnxError` (a ValueError).
"""

from batchnet.onnx.errors import MAX_FILE_BYTES, OnnxError
from batchnet.onnx.export import export
from batchnet.onnx.load import load

__all__ = ["MAX_FILE_BYTES", "OnnxError", "export", "load"]
