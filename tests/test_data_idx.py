"""batchnet.data.idx: strict IDX parsing, every malformed file refused naming it."""

import gzip

import numpy as np
import pytest

from batchnet.data.idx import IMAGES_MAGIC, LABELS_MAGIC, DatasetError, read_idx
from data_files import idx_bytes


def test_truncated_file_is_rejected_naming_the_file(tmp_path):
    path = tmp_path / "images.idx"
    path.write_bytes(idx_bytes(np.zeros((4, 28, 28)))[:-10])
    with pytest.raises(DatasetError, match=r"images\.idx: truncated"):
        read_idx(path, IMAGES_MAGIC)



def test_trailing_bytes_are_rejected(tmp_path):
    path = tmp_path / "labels.idx"
    path.write_bytes(idx_bytes(np.zeros(4)) + b"\x00")
    with pytest.raises(DatasetError, match="trailing bytes"):
        read_idx(path, LABELS_MAGIC)



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



def test_dataset_error_is_a_value_error():
    assert issubclass(DatasetError, ValueError)
