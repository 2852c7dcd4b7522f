"""Hostile and broken dataset files and downloads: bounded memory, one clear DatasetError, nothing left behind.

Every file here is made by the test; the downloads go to a server on
127.0.0.1 started by the test, or to a replaced ``urlopen``.
"""

import contextlib
import gzip
import hashlib
import io
import os
import shutil
import socket
import threading
import tracemalloc
import urllib.request

import numpy as np
import pytest

from batchnet.data import idx, mnist, sources
from batchnet.data.idx import IMAGES_MAGIC, DatasetError, read_idx
from batchnet.data.mnist import ChecksumMismatch, load_dataset, load_mnist
from data_files import (REAL_MNIST, gz_archives, idx_bytes, isolated, published,  # noqa: F401
                        serve, write_dataset, write_idx)

ZEROS_MIB = 256  # of zeros after the data: what a reader that reads it all would hold


def peak_traced_bytes(function):
    """``(result or the exception raised, peak bytes traced while function() ran)``."""
    tracemalloc.start()
    try:
        try:
            outcome = function()
        except Exception as error:  # noqa: BLE001 - returned for the test to judge
            outcome = error
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def write_gzip_with_zeros(path, content, zeros_mib):
    """``content`` then ``zeros_mib`` MiB of zeros, gzipped a MiB at a time (the test never holds them)."""
    zeros = bytes(1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as stream:
        stream.write(content)
        for _ in range(zeros_mib):
            stream.write(zeros)
    return path


def test_a_gzip_of_valid_images_then_many_zeros_is_refused_holding_little_memory(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (100, 28, 28))
    path = write_gzip_with_zeros(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(images), ZEROS_MIB)
    assert path.stat().st_size * 100 < ZEROS_MIB << 20  # small on disk: it is the inflated size that is hostile
    error, peak = peak_traced_bytes(lambda: read_idx(path, IMAGES_MAGIC))
    assert isinstance(error, DatasetError)
    assert "train-images-idx3-ubyte.gz: has trailing bytes" in str(error)
    assert f"needs {16 + images.size} bytes" in str(error)
    # the data and one read's buffer, not the quarter gigabyte of zeros
    assert peak < images.size + 2 * idx.READ_CHUNK, f"peak {peak} bytes traced"


def test_a_dataset_whose_images_gzip_inflates_past_its_data_is_refused_naming_the_file(isolated):
    folder = isolated / "data"
    arrays = write_dataset(folder)
    write_gzip_with_zeros(folder / "train-images-idx3-ubyte.gz", idx_bytes(arrays["train-images-idx3-ubyte"]), 64)
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz: has trailing bytes"):
        load_mnist(folder)


def test_an_uncompressed_file_with_a_gigabyte_tail_is_refused_before_reading_it(tmp_path):
    labels = np.arange(10) % 10
    path = tmp_path / "train-labels-idx1-ubyte"
    write_idx(path, labels)
    os.truncate(path, 1 << 30)  # sparse: a gigabyte on paper, nothing on disk
    error, peak = peak_traced_bytes(lambda: read_idx(path))
    assert isinstance(error, DatasetError)
    assert f"has trailing bytes: shape (10,) needs 18 bytes, the file has {1 << 30}" in str(error)
    assert peak < 1 << 20, f"peak {peak} bytes traced"


def test_a_header_announcing_more_than_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.gz"
    side = 1 << 11  # 2048^3 = 8 GiB announced
    path.write_bytes(gzip.compress(idx.idx_header(IMAGES_MAGIC, (side, side, side))))
    with pytest.raises(DatasetError, match=f"announces {side ** 3} bytes of data, more than the {idx.MAX_IDX_BYTES}"):
        read_idx(path)


def test_a_gzip_announcing_much_but_holding_little_costs_what_it_holds(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    announced = (1000, 1000, 1000)  # under the limit, but a gigabyte
    header = IMAGES_MAGIC.to_bytes(4, "big") + b"".join(size.to_bytes(4, "big") for size in announced)
    path.write_bytes(gzip.compress(header + bytes(100)))
    error, peak = peak_traced_bytes(lambda: read_idx(path))
    assert isinstance(error, DatasetError) and "truncated" in str(error) and "the file has 116" in str(error)
    assert peak < 2 * idx.READ_CHUNK, f"peak {peak} bytes traced"  # one read's buffer, not the gigabyte


# -- downloads ---------------------------------------------------------------

@contextlib.contextmanager
def raw_http_server(reply):
    """A server on 127.0.0.1 answering every request with the bytes ``reply`` and then closing
    the connection; yields its base URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so that the thread sees it should stop: closing does not wake accept()
    stopping = threading.Event()

    def answer():
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(reply)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stopping.set()
        listener.close()
        thread.join(timeout=5)


@pytest.fixture
def real_network(isolated, monkeypatch):
    """The real urlopen, with no proxy between it and 127.0.0.1."""
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setattr(sources, "urlopen", urllib.request.urlopen)
    return isolated


def mirrored_at(url, monkeypatch):
    spec = mnist.DATASETS["mnist"]
    monkeypatch.setitem(mnist.DATASETS, "mnist", mnist.DatasetSpec(spec.name, (url,), spec.sha256))


def test_a_chunked_download_cut_short_is_a_dataset_error_that_leaves_no_file_and_no_folder(real_network,
                                                                                          monkeypatch):
    chunk, sent = 100_000, 1000  # one chunk announced, a thousand bytes of it sent, then the connection closes
    reply = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
             + f"{chunk:x}\r\n".encode() + b"\x1f" * sent)
    with raw_http_server(reply) as url:
        mirrored_at(url, monkeypatch)
        with pytest.raises(DatasetError) as caught:
            load_mnist(real_network / "fresh" / "mnist")
    message = str(caught.value)
    assert f"{url}train-images-idx3-ubyte.gz: the download broke off after" in message
    assert "more were announced" in message
    assert "Needed: train-images-idx3-ubyte.gz" in message
    assert not (real_network / "fresh").exists()  # neither a .part file nor the folders made for it


def test_a_download_shorter_than_its_content_length_is_said_to_be_cut_short(real_network, monkeypatch):
    announced, sent = 100_000, 1000
    reply = (f"HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n".encode()
             + b"\x1f" * sent)
    with raw_http_server(reply) as url:
        mirrored_at(url, monkeypatch)
        with pytest.raises(DatasetError, match=f"broke off after {sent} of the {announced} bytes announced"):
            load_mnist(real_network / "fresh")
    assert not (real_network / "fresh").exists()


def test_a_reply_that_is_not_http_is_a_dataset_error(real_network, monkeypatch):
    with raw_http_server(b"SSH-2.0-OpenSSH_9.2\r\n") as url:
        mirrored_at(url, monkeypatch)
        with pytest.raises(DatasetError, match=f"{url}train-images-idx3-ubyte.gz: BadStatusLine"):
            load_mnist(real_network / "fresh")
    assert not (real_network / "fresh").exists()


def test_a_mirror_sending_more_than_a_dataset_file_may_have_is_cut_off(isolated, monkeypatch):
    monkeypatch.setattr(sources, "MAX_DOWNLOAD_BYTES", 5000)

    class Endless(io.BytesIO):
        headers = {}  # no Content-Length: only counting what comes can stop it

        def read(self, size=-1):
            return b"\x00" * size

    monkeypatch.setattr(sources, "urlopen", lambda url, timeout=None: Endless())
    with pytest.raises(DatasetError, match="sent more than the 5000 bytes a dataset file may have"):
        load_mnist(isolated / "fresh")
    assert not (isolated / "fresh").exists()


def test_a_failed_download_into_the_cache_makes_no_cache_folders(isolated):
    with pytest.raises(DatasetError, match="network unreachable"):
        load_mnist()
    assert not (isolated / "home" / ".cache").exists()


def test_a_successful_download_makes_its_folder(isolated, monkeypatch):
    archives = gz_archives()
    published(archives, monkeypatch)
    monkeypatch.setattr(sources, "urlopen", serve(archives))
    load_mnist()
    assert sorted(p.name for p in (isolated / "home" / ".cache" / "batchnet" / "mnist").iterdir()) == sorted(archives)


def test_a_data_dir_name_too_long_for_the_file_system_is_a_dataset_error(isolated):
    too_long = "d" * (os.pathconf(isolated, "PC_NAME_MAX") + 1)
    with pytest.raises(DatasetError, match="cannot look for the mnist files there"):
        load_mnist(isolated / too_long, download=False)


# -- checksums of the known datasets' files -------------------------------------

def known_spec(folder, monkeypatch, train=12, test=5):
    """Make the small files written in ``folder`` the published files of "mnist", by their raw SHA-256."""
    raw = {}
    for base in mnist.FILES.values():
        path = sources.existing_file(folder, base)
        content = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        raw[base] = hashlib.sha256(content).hexdigest()
    spec = mnist.DATASETS["mnist"]
    monkeypatch.setitem(mnist.DATASETS, "mnist", mnist.DatasetSpec(
        spec.name, spec.mirrors, spec.sha256, raw_sha256=raw, split_sizes={"train": train, "test": test}))


def flip_byte(path, offset):
    content = bytearray(path.read_bytes())
    content[offset] ^= 0x01
    path.write_bytes(bytes(content))


def test_a_raw_file_of_a_known_dataset_with_a_flipped_byte_is_refused(isolated, monkeypatch):
    folder = isolated / "data"
    write_dataset(folder, gz=False)
    known_spec(folder, monkeypatch)
    load_mnist(folder)  # the published files load
    flip_byte(folder / "train-images-idx3-ubyte", 16 + 100)
    with pytest.raises(ChecksumMismatch) as caught:
        load_mnist(folder)
    message = str(caught.value)
    assert f"{folder / 'train-images-idx3-ubyte'}: has the shape of mnist's train-images-idx3-ubyte" in message
    expected = mnist.DATASETS["mnist"].raw_sha256["train-images-idx3-ubyte"]
    got = hashlib.sha256((folder / "train-images-idx3-ubyte").read_bytes()).hexdigest()
    assert f"(sha256 {got}, expected {expected})" in message and "verify=False" in message


def test_a_flipped_label_is_refused_too(isolated, monkeypatch):
    folder = isolated / "data"
    write_dataset(folder, gz=False)
    known_spec(folder, monkeypatch)
    flip_byte(folder / "t10k-labels-idx1-ubyte", 8 + 2)
    with pytest.raises(ChecksumMismatch, match="t10k-labels-idx1-ubyte: has the shape of mnist's"):
        load_dataset("mnist", folder, splits=("test",))


def test_verify_false_loads_a_modified_file_as_it_is(isolated, monkeypatch):
    folder = isolated / "data"
    arrays = write_dataset(folder, gz=False)
    known_spec(folder, monkeypatch)
    flip_byte(folder / "train-images-idx3-ubyte", 16)
    (x_train, _), _ = load_mnist(folder, verify=False)
    assert x_train[0, 0, 0] == arrays["train-images-idx3-ubyte"][0, 0, 0] ^ 0x01


def test_files_of_other_shapes_than_the_published_ones_are_not_checked(isolated, monkeypatch):
    folder = isolated / "data"
    write_dataset(folder, train=12, gz=False)
    known_spec(folder, monkeypatch, train=13)  # the "published" train set has 13 images, this one 12
    flip_byte(folder / "train-images-idx3-ubyte", 16)
    (x_train, _), _ = load_mnist(folder)
    assert len(x_train) == 12


@pytest.mark.data
@pytest.mark.skipif(not REAL_MNIST.is_dir(), reason=f"needs the real MNIST files in {REAL_MNIST}")
def test_the_real_mnist_test_images_uncompressed_with_one_flipped_pixel_are_refused(tmp_path):
    with gzip.open(REAL_MNIST / "t10k-images-idx3-ubyte.gz") as source:
        (tmp_path / "t10k-images-idx3-ubyte").write_bytes(source.read())
    shutil.copy(REAL_MNIST / "t10k-labels-idx1-ubyte.gz", tmp_path)
    load_dataset("mnist", tmp_path, splits=("test",))
    flip_byte(tmp_path / "t10k-images-idx3-ubyte", 16 + 28 * 14 + 14)
    with pytest.raises(ChecksumMismatch, match="has the shape of mnist's t10k-images-idx3-ubyte"):
        load_dataset("mnist", tmp_path, splits=("test",))


# -- splits that cannot be used together -----------------------------------------

def test_train_and_test_images_of_different_sizes_are_refused(isolated):
    folder = isolated / "data"
    write_dataset(folder)
    write_idx(folder / "train-images-idx3-ubyte.gz", np.zeros((12, 32, 32)))
    with pytest.raises(DatasetError, match="the train images are 32x32 but the test images are 28x28"):
        load_mnist(folder)
