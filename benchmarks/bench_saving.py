"""Saving and loading a trained network of ``batchnet.models`` with ``save_model`` / ``load_model``.

``time_save_model`` writes the model file (atomically: a temporary file,
fsync, rename) over the one ``setup`` wrote; ``time_load_model`` reads it
back with every check a load makes (the zip's records, the headers, the
arrays against their CRC, the check run of one sample). The folder is a new
temporary one per setup, holding only the model file.
"""

import shutil
import tempfile
from pathlib import Path

from .common import mnist_like, network

NETWORK_NAMES = ["tutorial_mlp", "standard_cnn"]


class ModelFile:
    """Speed of a model file's save and load (NumPy backend, float32)."""

    params = [NETWORK_NAMES]
    param_names = ["network"]

    def setup(self, name):
        try:
            from batchnet.saving import load_model, save_model
        except ImportError as error:
            raise NotImplementedError(f"batchnet.saving is not available ({error})") from None
        self.save_model, self.load_model = save_model, load_model
        self.net = network(name, "numpy", "float32")
        images, labels = mnist_like(8, "float32")
        # one step so that the weights exist and the input shape is recorded
        self.net.fit(images, labels, epochs=1, learning_rate=0.01, batch_size=8, verbose=0, seed=0)
        self.folder = Path(tempfile.mkdtemp(prefix="batchnet_bench_"))
        self.path = self.folder / "model.npz"
        save_model(self.net, self.path)

    def teardown(self, name):
        shutil.rmtree(self.folder, ignore_errors=True)

    def time_save_model(self, name):
        self.save_model(self.net, self.path)

    def time_load_model(self, name):
        self.load_model(self.path)
