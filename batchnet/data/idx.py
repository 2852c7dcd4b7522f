"""IDX files (the MNIST format) parsed strictly, and DatasetError, which every data module raises.

An IDX file of unsigned bytes is a 4-byte magic number ``0x0000 08 <ndim>``
(2051 for images, 2049 for labels), ``ndim`` big-endian 4-byte sizes, then
exactly as many bytes as the sizes multiply to. Anything else (truncated,
trailing bytes, another element type, a corrupt gzip) is refused, naming the file.
"""

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
UNSIGNED_BYTE = 0x08


class DatasetError(ValueError):
    """A data file is missing, corrupt, truncated or not what its name says."""


def read_idx(path, expected_magic=None):
    """Parse one IDX file of unsigned bytes (gzipped if its name ends in ``.gz``).

    The header is checked strictly: magic ``0x0000 08 <ndim>`` (2051 for images,
    2049 for labels), then ``ndim`` big-endian sizes whose product must equal
    the number of bytes that follow.
    """
    path = Path(path)
    content = _read_bytes(path)
    if len(content) < 4:
        raise DatasetError(f"{path}: truncated IDX file ({len(content)} bytes, no header)")
    magic = int.from_bytes(content[:4], "big")
    zero, dtype_code, ndim = int.from_bytes(content[:2], "big"), content[2], content[3]
    if zero != 0 or dtype_code != UNSIGNED_BYTE or ndim == 0:
        raise DatasetError(f"{path}: not an IDX file of unsigned bytes (magic number {magic:#010x})")
    if expected_magic is not None and magic != expected_magic:
        raise DatasetError(
            f"{path}: magic number {magic} ({_kind(magic)}), expected {expected_magic} ({_kind(expected_magic)})"
        )
    header = 4 + 4 * ndim
    if len(content) < header:
        raise DatasetError(f"{path}: truncated IDX header ({len(content)} bytes, need {header})")
    shape = tuple(int.from_bytes(content[4 + 4 * axis:8 + 4 * axis], "big") for axis in range(ndim))
    expected_size = header + math.prod(shape)
    if len(content) != expected_size:
        problem = "truncated" if len(content) < expected_size else "has trailing bytes"
        raise DatasetError(
            f"{path}: {problem}: shape {shape} needs {expected_size} bytes, the file has {len(content)}"
        )
    # a bytearray, not bytes: the arrays returned are writable
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(shape)


def _read_bytes(path):
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                return bytearray(stream.read())
        return bytearray(path.read_bytes())
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: corrupt gzip file ({error})") from None
    except OSError as error:
        raise DatasetError(f"{path}: cannot read ({error})") from None


def _kind(magic):
    return {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}.get(magic, "unknown")
