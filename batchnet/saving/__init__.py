"""Saving and loading trained networks: one ``.npz`` per model, written atomically.

``model_file`` reads and writes the architecture and weights (no pickle);
``atomic`` writes any file so that a crash never leaves a half-written one.
"""

from batchnet.saving.model_file import ModelFileError, load_model, save_model

__all__ = ["ModelFileError", "load_model", "save_model"]
