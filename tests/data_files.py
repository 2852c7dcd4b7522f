"""IDX files and dataset folders as tests make them, and a network that is never reached.

Every data test writes its own small IDX files; none touches the network (the
downloader's ``urlopen`` is replaced). ``REAL_MNIST`` is ../shared/data/mnist,
read by the tests that need the real files when that folder exists.
"""

import dataclasses
import gzip
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest

from batchnet.data import mnist, sources

REAL_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def idx_bytes(array, magic=None):
    array = np.asarray(array, dtype=np.uint8)
    magic = magic if magic is not None else 0x0800 + array.ndim
    header = magic.to_bytes(4, "big") + b"".join(size.to_bytes(4, "big") for size in array.shape)
    return header + array.tobytes()



def write_idx(path, array, magic=None, compress=None):
    content = idx_bytes(array, magic)
    compress = path.name.endswith(".gz") if compress is None else compress
    path.write_bytes(gzip.compress(content) if compress else content)
    return path



def write_dataset(folder, train=12, test=5, seed=0, gz=True):
    """Four small IDX files in ``folder``; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, test),
    }
    for base, array in arrays.items():
        write_idx(folder / (base + (".gz" if gz else "")), array)
    return arrays



def isolate(monkeypatch, home):
    """No $BATCHNET_DATA, ``home`` as the home folder, no system folders, and a network that fails."""
    monkeypatch.delenv("BATCHNET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(home))
    for name, spec in mnist.DATASETS.items():
        monkeypatch.setitem(mnist.DATASETS, name, dataclasses.replace(spec, system_dirs=()))

    def no_network(url, timeout=None):
        raise OSError("network unreachable (test)")

    monkeypatch.setattr(sources, "urlopen", no_network)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $BATCHNET_DATA, an empty home, no system folders, and a network that fails."""
    isolate(monkeypatch, tmp_path / "home")
    return tmp_path


class FakeResponse(io.BytesIO):
    def __init__(self, content):
        super().__init__(content)
        self.headers = {"Content-Length": str(len(content))}



def serve(files):
    """An ``urlopen`` replacement serving ``{file name: bytes}`` and failing for anything else."""
    requested = []

    def fake_urlopen(url, timeout=None):
        requested.append(url)
        name = url.rsplit("/", 1)[-1]
        if name not in files:
            raise OSError(f"404 for {url}")
        return FakeResponse(files[name])

    fake_urlopen.requested = requested
    return fake_urlopen



def published(files, monkeypatch, name="mnist"):
    """Make ``files`` (name -> gz bytes) the published archives of dataset ``name``."""
    spec = mnist.DATASETS[name]
    sha256 = {base: hashlib.sha256(files[base + ".gz"]).hexdigest() for base in mnist.FILES.values()}
    monkeypatch.setitem(
        mnist.DATASETS, name, mnist.DatasetSpec(spec.name, ("https://mirror.test/a/",), sha256)
    )



def gz_archives(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(rng.integers(0, 256, (7, 28, 28)))),
        "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(rng.integers(0, 10, 7))),
        "t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(rng.integers(0, 256, (3, 28, 28)))),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(rng.integers(0, 10, 3))),
    }
