"""batchnet.data.sources: where the files are looked for, and verified downloads renamed into place."""

import gzip
import hashlib

import pytest

from batchnet.data import mnist, sources
from batchnet.data.idx import DatasetError
from batchnet.data.mnist import load_fashion_mnist, load_mnist
from data_files import FakeResponse, gz_archives, isolated, published, serve, write_dataset  # isolated is a fixture


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
    spec = mnist.DATASETS["fashion-mnist"]
    monkeypatch.setitem(mnist.DATASETS, "fashion-mnist", mnist.DatasetSpec(
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
    assert "/usr/share/datasets/fashion-mnist" in mnist.DATASETS["fashion-mnist"].system_dirs



def test_download_fills_the_explicit_folder_with_verified_files(isolated, monkeypatch):
    archives = gz_archives()
    published(archives, monkeypatch)
    fake = serve(archives)
    monkeypatch.setattr(sources, "urlopen", fake)
    (x_train, y_train), (x_test, _) = load_mnist(isolated / "fresh")
    assert sorted(p.name for p in (isolated / "fresh").iterdir()) == sorted(archives)
    assert x_train.shape == (7, 28, 28) and x_test.shape == (3, 28, 28)
    assert all(url.startswith("https://mirror.test/a/") for url in fake.requested)



def test_download_goes_to_the_user_cache_by_default(isolated, monkeypatch):
    archives = gz_archives()
    published(archives, monkeypatch)
    monkeypatch.setattr(sources, "urlopen", serve(archives))
    load_mnist()
    assert (isolated / "home" / ".cache" / "batchnet" / "mnist" / "train-images-idx3-ubyte.gz").is_file()



def test_checksum_mismatch_is_rejected_and_leaves_no_file(isolated, monkeypatch):
    archives = gz_archives()
    published(archives, monkeypatch)
    tampered = dict(archives, **{"t10k-images-idx3-ubyte.gz": gzip.compress(b"evil")})
    monkeypatch.setattr(sources, "urlopen", serve(tampered))
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

    monkeypatch.setattr(sources, "urlopen", lambda url, timeout=None: BrokenResponse(b"x" * 100))
    with pytest.raises(ConnectionResetError):
        sources.download_file("https://mirror.test/f.gz", isolated / "f.gz", "0" * 64)
    assert list(isolated.iterdir()) == []



def test_download_falls_back_to_the_next_mirror(isolated, monkeypatch):
    archives = gz_archives()
    spec = mnist.DATASETS["mnist"]
    sha256 = {base: hashlib.sha256(archives[base + ".gz"]).hexdigest() for base in mnist.FILES.values()}
    monkeypatch.setitem(mnist.DATASETS, "mnist", mnist.DatasetSpec(
        spec.name, ("https://down.test/", "https://up.test/"), sha256))

    def fake_urlopen(url, timeout=None):
        if url.startswith("https://down.test/"):
            raise OSError("connection refused (test)")
        return FakeResponse(archives[url.rsplit("/", 1)[-1]])

    monkeypatch.setattr(sources, "urlopen", fake_urlopen)
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
    assert not (isolated / "nowhere").exists()  # no folder is made for a download that never came



def test_mnist_error_does_not_offer_an_apt_package(isolated):
    with pytest.raises(DatasetError) as caught:
        load_mnist(isolated / "nowhere")
    assert "apt-get" not in str(caught.value)



def test_download_false_never_touches_the_network(isolated, monkeypatch):
    def forbidden(url, timeout=None):
        raise AssertionError("the network was used")

    monkeypatch.setattr(sources, "urlopen", forbidden)
    with pytest.raises(DatasetError, match="downloads disabled"):
        load_mnist(isolated / "nowhere", download=False)
