"""batchnet.data.mnist: strict IDX parsing, the search order, verified atomic downloads.

Every test writes its own small IDX files; none touches the network (the
downloader's ``urlopen`` is replaced). One test reads the real MNIST files in
../shared/data/mnist when that folder exists.
"""

import gzip
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest

from batchnet.data import mnist as datasets
from batchnet.data.mnist import DatasetError, load_fashion_mnist, load_mnist, read_idx

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


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $BATCHNET_DATA, an empty home, no system folders, and a network that fails."""
    monkeypatch.delenv("BATCHNET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name, spec in datasets.DATASETS.items():
        monkeypatch.setitem(
            datasets.DATASETS, name, datasets.DatasetSpec(spec.name, spec.mirrors, spec.sha256, (), spec.apt_package,
                                                          spec.labels_sha256)
        )

    def no_network(url, timeout=None):
        raise OSError("network unreachable (test)")

    monkeypatch.setattr(datasets, "urlopen", no_network)
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
    spec = datasets.DATASETS[name]
    sha256 = {base: hashlib.sha256(files[base + ".gz"]).hexdigest() for base in datasets.FILES.values()}
    monkeypatch.setitem(
        datasets.DATASETS, name, datasets.DatasetSpec(spec.name, ("https://mirror.test/a/",), sha256)
    )


def gz_archives(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(rng.integers(0, 256, (7, 28, 28)))),
        "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(rng.integers(0, 10, 7))),
        "t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(rng.integers(0, 256, (3, 28, 28)))),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(rng.integers(0, 10, 3))),
    }


# -- parsing ---------------------------------------------------------------
def test_load_returns_the_arrays_written_as_uint8(isolated):
    arrays = write_dataset(isolated / "data")
    (x_train, y_train), (x_test, y_test) = load_mnist(isolated / "data")
    for got, base in [(x_train, "train-images-idx3-ubyte"), (y_train, "train-labels-idx1-ubyte"),
                      (x_test, "t10k-images-idx3-ubyte"), (y_test, "t10k-labels-idx1-ubyte")]:
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[base])
    assert x_train.shape == (12, 28, 28) and y_test.shape == (5,)


def test_uncompressed_files_are_accepted(isolated):
    arrays = write_dataset(isolated / "data", gz=False)
    (x_train, _), _ = load_mnist(isolated / "data")
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte"])


def test_loaded_arrays_are_writable(isolated):
    write_dataset(isolated / "data")
    (x_train, _), _ = load_mnist(isolated / "data")
    x_train[0, 0, 0] = 7
    assert x_train[0, 0, 0] == 7


def test_truncated_file_is_rejected_naming_the_file(tmp_path):
    path = tmp_path / "images.idx"
    path.write_bytes(idx_bytes(np.zeros((4, 28, 28)))[:-10])
    with pytest.raises(DatasetError, match=r"images\.idx: truncated"):
        read_idx(path, datasets.IMAGES_MAGIC)


def test_trailing_bytes_are_rejected(tmp_path):
    path = tmp_path / "labels.idx"
    path.write_bytes(idx_bytes(np.zeros(4)) + b"\x00")
    with pytest.raises(DatasetError, match="trailing bytes"):
        read_idx(path, datasets.LABELS_MAGIC)


def test_truncated_header_is_rejected(tmp_path):
    path = tmp_path / "images.idx"
    path.write_bytes(idx_bytes(np.zeros((4, 28, 28)))[:9])
    with pytest.raises(DatasetError, match="truncated IDX header"):
        read_idx(path)


def test_non_idx_file_is_rejected(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello, world, not pixels")
    with pytest.raises(DatasetError, match="notes.txt: not an IDX file"):
        read_idx(path)


def test_corrupt_gzip_is_rejected_naming_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: corrupt gzip"):
        read_idx(path)


def test_truncated_gzip_is_rejected(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(28 * 28 * 3).reshape(3, 28, 28) % 256))[:-20])
    with pytest.raises(DatasetError, match="corrupt gzip"):
        read_idx(path)


def test_images_file_given_as_labels_is_rejected(isolated):
    folder = isolated / "data"
    write_dataset(folder)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros((12, 28, 28)))
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte\.gz: magic number 2051 \(images\), expected 2049"):
        load_mnist(folder)


def test_count_mismatch_between_images_and_labels_is_rejected(isolated):
    folder = isolated / "data"
    write_dataset(folder)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(4))
    with pytest.raises(DatasetError, match="holds 5 images but .*t10k-labels-idx1-ubyte.gz holds 4 labels"):
        load_mnist(folder)


def test_labels_outside_the_ten_classes_are_rejected(isolated):
    folder = isolated / "data"
    write_dataset(folder)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.full(5, 10))
    with pytest.raises(DatasetError, match="label 10 is outside 0..9"):
        load_mnist(folder)


def test_dataset_error_is_a_value_error():
    assert issubclass(DatasetError, ValueError)


# -- where the files are looked for ------------------------------------------
def test_explicit_dir_comes_before_the_environment(isolated, monkeypatch):
    write_dataset(isolated / "explicit", train=3)
    write_dataset(isolated / "env" / "mnist", train=4)
    monkeypatch.setenv("BATCHNET_DATA", str(isolated / "env"))
    (x_train, _), _ = load_mnist(isolated / "explicit")
    assert len(x_train) == 3


def test_explicit_dir_is_the_only_folder_searched(isolated, monkeypatch):
    write_dataset(isolated / "env", train=6)
    write_dataset(isolated / "home" / ".cache" / "batchnet" / "mnist", train=8)
    monkeypatch.setenv("BATCHNET_DATA", str(isolated / "env"))
    (isolated / "empty").mkdir()
    with pytest.raises(DatasetError) as caught:
        load_mnist(isolated / "empty", download=False)
    assert f"Looked in:\n  - {isolated / 'empty'}\n" in str(caught.value)


def test_missing_explicit_dir_is_said_to_be_missing(isolated, monkeypatch):
    write_dataset(isolated / "env", train=6)
    monkeypatch.setenv("BATCHNET_DATA", str(isolated / "env"))
    with pytest.raises(DatasetError, match="nowhere \\(no such folder\\)"):
        load_mnist(isolated / "nowhere", download=False)


def test_environment_subfolder_named_after_the_dataset(isolated, monkeypatch):
    write_dataset(isolated / "env" / "mnist", train=4)
    write_dataset(isolated / "env", train=6)
    monkeypatch.setenv("BATCHNET_DATA", str(isolated / "env"))
    (x_train, _), _ = load_mnist()
    assert len(x_train) == 4


def test_environment_folder_itself(isolated, monkeypatch):
    write_dataset(isolated / "env", train=6)
    monkeypatch.setenv("BATCHNET_DATA", str(isolated / "env"))
    (x_train, _), _ = load_mnist()
    assert len(x_train) == 6


def test_environment_comes_before_the_cache(isolated, monkeypatch):
    write_dataset(isolated / "env", train=6)
    write_dataset(isolated / "home" / ".cache" / "batchnet" / "mnist", train=8)
    monkeypatch.setenv("BATCHNET_DATA", str(isolated / "env"))
    (x_train, _), _ = load_mnist()
    assert len(x_train) == 6


def test_user_cache_folder(isolated):
    write_dataset(isolated / "home" / ".cache" / "batchnet" / "fashion-mnist", train=8)
    (x_train, _), _ = load_fashion_mnist()
    assert len(x_train) == 8


def test_system_folder_comes_last(isolated, monkeypatch):
    write_dataset(isolated / "system", train=9)
    spec = datasets.DATASETS["fashion-mnist"]
    monkeypatch.setitem(datasets.DATASETS, "fashion-mnist", datasets.DatasetSpec(
        spec.name, spec.mirrors, spec.sha256, (str(isolated / "system"),), spec.apt_package))
    (x_train, _), _ = load_fashion_mnist()
    assert len(x_train) == 9
    write_dataset(isolated / "home" / ".cache" / "batchnet" / "fashion-mnist", train=8)
    (x_train, _), _ = load_fashion_mnist()
    assert len(x_train) == 8


def test_folder_with_only_some_files_is_skipped(isolated, monkeypatch):
    write_dataset(isolated / "env", train=6)
    (isolated / "env" / "t10k-labels-idx1-ubyte.gz").unlink()
    write_dataset(isolated / "home" / ".cache" / "batchnet" / "mnist", train=8)
    monkeypatch.setenv("BATCHNET_DATA", str(isolated / "env"))
    (x_train, _), _ = load_mnist()
    assert len(x_train) == 8


def test_fashion_mnist_default_search_includes_the_debian_package_dir():
    assert "/usr/share/datasets/fashion-mnist" in datasets.DATASETS["fashion-mnist"].system_dirs


# -- downloading ---------------------------------------------------------------
def test_download_fills_the_explicit_folder_with_verified_files(isolated, monkeypatch):
    archives = gz_archives()
    published(archives, monkeypatch)
    fake = serve(archives)
    monkeypatch.setattr(datasets, "urlopen", fake)
    (x_train, y_train), (x_test, _) = load_mnist(isolated / "fresh")
    assert sorted(p.name for p in (isolated / "fresh").iterdir()) == sorted(archives)
    assert x_train.shape == (7, 28, 28) and x_test.shape == (3, 28, 28)
    assert all(url.startswith("https://mirror.test/a/") for url in fake.requested)


def test_download_goes_to_the_user_cache_by_default(isolated, monkeypatch):
    archives = gz_archives()
    published(archives, monkeypatch)
    monkeypatch.setattr(datasets, "urlopen", serve(archives))
    load_mnist()
    assert (isolated / "home" / ".cache" / "batchnet" / "mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_checksum_mismatch_is_rejected_and_leaves_no_file(isolated, monkeypatch):
    archives = gz_archives()
    published(archives, monkeypatch)
    tampered = dict(archives, **{"t10k-images-idx3-ubyte.gz": gzip.compress(b"evil")})
    monkeypatch.setattr(datasets, "urlopen", serve(tampered))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        load_mnist(isolated / "fresh")
    assert not (isolated / "fresh" / "t10k-images-idx3-ubyte.gz").exists()
    assert not list((isolated / "fresh").glob(".*part"))


def test_interrupted_download_leaves_no_file(isolated, monkeypatch):
    class BrokenResponse(FakeResponse):
        def read(self, size=-1):
            if self.tell() > 10:
                raise ConnectionResetError("connection reset (test)")
            return super().read(8)

    monkeypatch.setattr(datasets, "urlopen", lambda url, timeout=None: BrokenResponse(b"x" * 100))
    with pytest.raises(ConnectionResetError):
        datasets.download_file("https://mirror.test/f.gz", isolated / "f.gz", "0" * 64)
    assert list(isolated.iterdir()) == []


def test_download_falls_back_to_the_next_mirror(isolated, monkeypatch):
    archives = gz_archives()
    spec = datasets.DATASETS["mnist"]
    sha256 = {base: hashlib.sha256(archives[base + ".gz"]).hexdigest() for base in datasets.FILES.values()}
    monkeypatch.setitem(datasets.DATASETS, "mnist", datasets.DatasetSpec(
        spec.name, ("https://down.test/", "https://up.test/"), sha256))

    def fake_urlopen(url, timeout=None):
        if url.startswith("https://down.test/"):
            raise OSError("connection refused (test)")
        return FakeResponse(archives[url.rsplit("/", 1)[-1]])

    monkeypatch.setattr(datasets, "urlopen", fake_urlopen)
    (x_train, _), _ = load_mnist(isolated / "fresh")
    assert len(x_train) == 7


def test_no_network_error_says_how_to_provide_the_files(isolated):
    with pytest.raises(DatasetError) as caught:
        load_fashion_mnist(isolated / "nowhere")
    message = str(caught.value)
    for needed in ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", str(isolated / "nowhere"),
                   "--data-dir", "BATCHNET_DATA", ".cache/batchnet/fashion-mnist",
                   "apt-get install dataset-fashion-mnist", "network unreachable (test)"]:
        assert needed in message
    assert not list((isolated / "nowhere").iterdir())


def test_mnist_error_does_not_offer_an_apt_package(isolated):
    with pytest.raises(DatasetError) as caught:
        load_mnist(isolated / "nowhere")
    assert "apt-get" not in str(caught.value)


def test_download_false_never_touches_the_network(isolated, monkeypatch):
    def forbidden(url, timeout=None):
        raise AssertionError("the network was used")

    monkeypatch.setattr(datasets, "urlopen", forbidden)
    with pytest.raises(DatasetError, match="downloads disabled"):
        load_mnist(isolated / "nowhere", download=False)


def test_unknown_dataset_name_is_rejected():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        datasets.load_dataset("cifar")


# -- the real MNIST files ----------------------------------------------------------
@pytest.mark.data
@pytest.mark.skipif(not REAL_MNIST.is_dir(), reason=f"real MNIST not present at {REAL_MNIST}")
def test_real_mnist_sizes_histograms_and_checksums():
    for base, sha256 in datasets.DATASETS["mnist"].sha256.items():
        assert hashlib.sha256((REAL_MNIST / f"{base}.gz").read_bytes()).hexdigest() == sha256
    (x_train, y_train), (x_test, y_test) = load_mnist(REAL_MNIST, download=False)
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    # the label histograms stated in ../shared/data/mnist/README.md
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_a_folder_of_the_other_dataset_is_named_for_what_it_holds(isolated, monkeypatch):
    written = write_dataset(isolated / "digits")
    # these small labels stand for MNIST's: the check knows a dataset by its labels alone
    train, test = written["train-labels-idx1-ubyte"], written["t10k-labels-idx1-ubyte"]
    monkeypatch.setitem(datasets.DATASETS["mnist"].labels_sha256, "train",
                        hashlib.sha256(train.astype(np.uint8).tobytes()).hexdigest())
    monkeypatch.setitem(datasets.DATASETS["mnist"].labels_sha256, "test",
                        hashlib.sha256(test.astype(np.uint8).tobytes()).hexdigest())
    assert len(load_mnist(isolated / "digits", download=False)[0][0]) == 12
    with pytest.raises(DatasetError, match=r"digits holds mnist, not fashion-mnist \(its train labels are mnist's\)"):
        load_fashion_mnist(isolated / "digits", download=False)


@pytest.mark.data
@pytest.mark.skipif(not REAL_MNIST.is_dir(), reason=f"real MNIST not present at {REAL_MNIST}")
def test_the_real_mnist_folder_is_not_taken_for_fashion_mnist():
    with pytest.raises(DatasetError, match="holds mnist, not fashion-mnist"):
        load_fashion_mnist(REAL_MNIST, download=False)


def test_the_test_split_alone_needs_only_the_two_test_files(isolated):
    written = write_dataset(isolated / "data")
    for base in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (isolated / "data" / f"{base}.gz").unlink()
    (x_test, y_test), = datasets.load_dataset("mnist", isolated / "data", download=False, splits=("test",))
    np.testing.assert_array_equal(y_test, written["t10k-labels-idx1-ubyte"])
    with pytest.raises(DatasetError, match="Needed: train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k"):
        datasets.load_dataset("mnist", isolated / "data", download=False)
    with pytest.raises(ValueError, match=r"splits: expected 'train' and/or 'test', got \('validation',\)"):
        datasets.load_dataset("mnist", isolated / "data", splits=("validation",))
