"""Tiny MNIST-shaped IDX files for the command-line tests, and the fixtures built on them."""

import numpy as np
import pytest

from batchnet import cli
from data_files import isolate, write_idx


def write_tiny_dataset(folder, train=240, test=60, seed=0):
    """Four IDX files of learnable 28x28 images: class k has a bright square at position k."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)

    def images_for(labels):
        images = rng.integers(0, 60, (len(labels), 28, 28))
        for index, label in enumerate(labels):
            row, column = divmod(int(label), 5)
            images[index, 2 + 12 * row:10 + 12 * row, 1 + 5 * column:5 + 5 * column] = 255
        return images

    for prefix, count in (("train", train), ("t10k", test)):
        labels = rng.integers(0, 10, count)
        for kind, array in (("images-idx3", images_for(labels)), ("labels-idx1", labels)):
            write_idx(folder / f"{prefix}-{kind}-ubyte.gz", array)
    return folder


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny") / "data")


@pytest.fixture(scope="module")
def saved_model(data_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tutorial-cnn.npz"
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", "tutorial-cnn", "--epochs", "1",
                     "--batch-size", "32", "--verbose", "0", "--save", str(path)]) == 0
    return path


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No data anywhere and no network."""
    isolate(monkeypatch, tmp_path / "home")
