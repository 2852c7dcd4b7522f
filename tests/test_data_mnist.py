"""batchnet.data.mnist: the two datasets, told apart by their labels, loaded as uint8 arrays by split."""

import hashlib

import numpy as np
import pytest

from batchnet.data import mnist
from batchnet.data.idx import DatasetError
from batchnet.data.mnist import load_fashion_mnist, load_mnist
from data_files import REAL_MNIST, isolated, write_dataset, write_idx  # isolated is a fixture


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



def test_unknown_dataset_name_is_rejected():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        mnist.load_dataset("cifar")



@pytest.mark.data
@pytest.mark.skipif(not REAL_MNIST.is_dir(), reason=f"real MNIST not present at {REAL_MNIST}")
def test_real_mnist_sizes_histograms_and_checksums():
    for base, sha256 in mnist.DATASETS["mnist"].sha256.items():
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
    monkeypatch.setitem(mnist.DATASETS["mnist"].labels_sha256, "train",
                        hashlib.sha256(train.astype(np.uint8).tobytes()).hexdigest())
    monkeypatch.setitem(mnist.DATASETS["mnist"].labels_sha256, "test",
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
    (x_test, y_test), = mnist.load_dataset("mnist", isolated / "data", download=False, splits=("test",))
    np.testing.assert_array_equal(y_test, written["t10k-labels-idx1-ubyte"])
    with pytest.raises(DatasetError, match="Needed: train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k"):
        mnist.load_dataset("mnist", isolated / "data", download=False)
    with pytest.raises(ValueError, match=r"splits: expected 'train' and/or 'test', got \('validation',\)"):
        mnist.load_dataset("mnist", isolated / "data", splits=("validation",))
