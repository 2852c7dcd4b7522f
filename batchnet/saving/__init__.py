"""Saving and loading trained networks: one ``.npz`` per model, written atomically.

``architecture`` turns a network into plain data and back (no weights, no
file format); ``checks`` holds the rules that saving and loading both apply,
``budget`` what a load's one-sample check run may cost; ``model_file`` reads
and writes the ``.npz`` (architecture as JSON, weights as ``.npy`` arrays, no
pickle), ``archive`` reads its zip container as hostile input, ``messages``
quotes file content in errors cut short; ``atomic`` writes any file so that a
crash never leaves a half-written one.
"""

from batchnet.saving.architecture import ArchitectureError, build_network, describe_network
from batchnet.saving.model_file import ModelFileError, load_model, save_model

__all__ = ["ArchitectureError", "ModelFileError", "build_network", "describe_network", "load_model", "save_model"]
