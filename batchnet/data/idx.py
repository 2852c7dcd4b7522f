"""IDX files (the MNIST format) parsed strictly, and DatasetError, which every data module raises.

An IDX file of unsigned bytes is a 4-byte magic number ``0x0000 08 <ndim>``
(2051 for images, 2049 for labels), ``ndim`` big-endian 4-byte sizes, then
exactly as many bytes as the sizes multiply to. Anything else (truncated,
trailing bytes, another element type, a corrupt gzip) is refused, naming the file.

Only what the header announces is read (and one byte more, to find excess),
so a small gzip that inflates to gigabytes past its data costs no more memory
than the data; a header announcing more than ``MAX_IDX_BYTES`` is refused
before anything is read.
"""

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
UNSIGNED_BYTE = 0x08
# 1 GiB: twenty times MNIST's largest file (47 MB); EMNIST's largest (0.55 GB) fits
MAX_IDX_BYTES = 1 << 30
READ_CHUNK = 1 << 22


class DatasetError(ValueError):
    """A data file is missing, corrupt, truncated or not what its name says."""


def read_idx(path, expected_magic=None):
    """Parse one IDX file of unsigned bytes (gzipped if its name ends in ``.gz``).

    The header is checked strictly: magic ``0x0000 08 <ndim>`` (2051 for images,
    2049 for labels), then ``ndim`` big-endian sizes whose product must equal
    the number of bytes that follow.
    """
    path = Path(path)
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                return _parse(path, stream, expected_magic, stored_size=None)
        with open(path, "rb") as stream:
            return _parse(path, stream, expected_magic, stored_size=path.stat().st_size)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: corrupt gzip file ({error})") from None
    except OSError as error:
        raise DatasetError(f"{path}: cannot read ({error.strerror or error})") from None


def idx_header(magic, shape):
    """The header bytes of an IDX file of ``magic`` and ``shape`` (the one header they allow)."""
    return magic.to_bytes(4, "big") + b"".join(int(size).to_bytes(4, "big") for size in shape)


def _parse(path, stream, expected_magic, stored_size):
    """The array in ``stream``; ``stored_size`` is the file's size when it is stored uncompressed."""
    start = stream.read(4)
    if len(start) < 4:
        raise DatasetError(f"{path}: truncated IDX file ({len(start)} bytes, no header)")
    magic = int.from_bytes(start, "big")
    zero, dtype_code, ndim = int.from_bytes(start[:2], "big"), start[2], start[3]
    if zero != 0 or dtype_code != UNSIGNED_BYTE or ndim == 0:
        raise DatasetError(f"{path}: not an IDX file of unsigned bytes (magic number {magic:#010x})")
    if expected_magic is not None and magic != expected_magic:
        raise DatasetError(
            f"{path}: magic number {magic} ({_kind(magic)}), expected {expected_magic} ({_kind(expected_magic)})"
        )
    header = 4 + 4 * ndim
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DatasetError(f"{path}: truncated IDX header ({4 + len(sizes)} bytes, need {header})")
    shape = tuple(int.from_bytes(sizes[4 * axis:4 * axis + 4], "big") for axis in range(ndim))
    data_size = math.prod(shape)
    expected_size = header + data_size
    if data_size > MAX_IDX_BYTES:
        raise DatasetError(f"{path}: shape {shape} announces {data_size} bytes of data, more than the "
                           f"{MAX_IDX_BYTES} an IDX file may hold here")
    if stored_size is not None and stored_size != expected_size:
        # known without reading: say exactly how far off the file is
        raise DatasetError(f"{path}: {_problem(stored_size, expected_size)}: shape {shape} needs "
                           f"{expected_size} bytes, the file has {stored_size}")
    # grown as the data comes, never allocated from the header alone: a gzip announcing
    # a gigabyte but holding a few bytes costs a few bytes
    content = bytearray()
    while len(content) < data_size:
        chunk = stream.read(min(READ_CHUNK, data_size - len(content)))
        if not chunk:
            raise DatasetError(f"{path}: truncated: shape {shape} needs {expected_size} bytes, "
                               f"the file has {header + len(content)}")
        content += chunk
    if stream.read(1):
        raise DatasetError(f"{path}: has trailing bytes: shape {shape} needs {expected_size} bytes, "
                           "the file has more")
    # a bytearray, not bytes: the arrays returned are writable
    return np.frombuffer(content, dtype=np.uint8).reshape(shape)


def _problem(size, expected_size):
    return "truncated" if size < expected_size else "has trailing bytes"


def _kind(magic):
    return {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}.get(magic, "unknown")
