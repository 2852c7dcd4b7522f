"""The zip container of a model file, read as hostile input: every failure a one-line ModelFileError.

Only a regular file is opened (a FIFO or ``/dev/zero`` would block or read
forever). Before any member is read, each one's local header must agree with
the zip's central directory (name, method, CRC, sizes) and no member's bytes
may overlap another's. A member's data is read whole, and must be exactly as
long as the directory says: Python's zipfile compares the CRC only once a
member has been read to its end, so a member whose recorded size was
lengthened would otherwise pass with any bytes in it. A ``.npy`` header is
bounded before numpy parses it, and whatever numpy's parser raises on hostile
text (``tokenize`` and ``ast`` errors included) is a ModelFileError too.
"""

import contextlib
import errno
import io
import os
import stat
import struct
import tokenize
import zipfile
import zlib
from functools import partial

import numpy as np

from batchnet.saving.messages import clipped, quoted

NPY_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}
NPY_HEADER_LENGTHS = {(1, 0): struct.Struct("<H"), (2, 0): struct.Struct("<I")}
# numpy's own bound (np.lib.format's max_header_size); a batchnet array's header takes about 128
MAX_NPY_HEADER_BYTES = 10_000
# what reading a corrupt zip member or .npy array raises: a RecursionError is a RuntimeError,
# numpy's header parser lets tokenize's and ast's errors through
READ_ERRORS = (OSError, ValueError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile,
               zlib.error, struct.error, tokenize.TokenError, SyntaxError)

LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
LOCAL_HEADER_SIGNATURE = b"PK\x03\x04"
DATA_DESCRIPTOR_FLAG = 0x08  # CRC and sizes follow the data; the local header's are zero
ZIP64_EXTRA_ID = 0x0001
ZIP64_MARK = 0xFFFFFFFF
FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
              (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class ModelFileError(ValueError):
    """A model file is corrupt, truncated, or describes something batchnet will not build."""


@contextlib.contextmanager
def open_archive(path):
    """The ``ZipFile`` of the regular file at ``path``, its layout checked; closed (with the file) on leaving."""
    with _open_regular_file(path) as file:
        try:
            archive = zipfile.ZipFile(file)
        except zipfile.BadZipFile:
            raise ModelFileError(
                f"{path}: not a readable batchnet model file (truncated, or not a .npz archive)") from None
        except READ_ERRORS as error:
            raise ModelFileError(f"{path}: not a readable batchnet model file ({clipped(error)})") from None
        with archive:
            try:
                _check_layout(path, file, archive.infolist())
            except ModelFileError:
                raise
            except READ_ERRORS as error:
                raise ModelFileError(f"{path}: not a readable batchnet model file ({clipped(error)})") from None
            yield archive


def _open_regular_file(path):
    """``path`` opened for reading, if it is a regular file (checked before opening and of what was opened)."""
    try:
        _require_regular_file(path, os.stat(path))
        # O_NONBLOCK: a FIFO put in place after the stat must not block the open; fstat then sees it
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "No such model file", str(path)) from None
    except OSError as error:
        raise ModelFileError(f"{path}: cannot be opened ({error.strerror or error})") from None
    try:
        _require_regular_file(path, os.fstat(handle))
        return os.fdopen(handle, "rb")
    except BaseException:
        os.close(handle)
        raise


def _require_regular_file(path, status):
    if stat.S_ISREG(status.st_mode):
        return
    kind = next((name for is_kind, name in FILE_KINDS if is_kind(status.st_mode)), "not a regular file")
    raise ModelFileError(f"{path}: {kind}, not a batchnet model file (a regular .npz file)")


def members(path, archive):
    """The archive's members by array name (their layout checked by open_archive); nothing is decompressed."""
    found = {}
    for info in archive.infolist():
        name, suffix = info.filename[:-len(".npy")], info.filename[-len(".npy"):]
        if suffix != ".npy" or not name:
            raise ModelFileError(
                f"{path}: unexpected member {quoted(info.filename)}; a batchnet model file holds only .npy arrays"
            )
        if name in found:
            raise ModelFileError(f"{path}: member {quoted(info.filename)} appears twice")
        found[name] = info
    return found


def _check_layout(path, file, infos):
    """Each member's local header agrees with the directory, and the members' bytes do not overlap."""
    file_size = file.seek(0, os.SEEK_END)
    spans = []
    for info in infos:
        start, end = info.header_offset, _data_end(path, file, info)
        if end > file_size:
            raise ModelFileError(f"{path}: {quoted(info.filename)} runs past the end of the file (truncated)")
        spans.append((start, end, info.filename))
    spans.sort()
    for (_, end, name), (next_start, _, next_name) in zip(spans, spans[1:]):
        if end > next_start:
            raise ModelFileError(f"{path}: members {quoted(name)} and {quoted(next_name)} overlap")


def _data_end(path, file, info):
    """Where the data of member ``info`` ends, from its local header once that agrees with the directory."""
    where = f"{path}: {quoted(info.filename)}"
    raw = b""
    if info.header_offset >= 0:  # zipfile takes the offset as the directory gives it, less any prefix
        file.seek(info.header_offset)
        raw = file.read(LOCAL_HEADER.size)
    if len(raw) < LOCAL_HEADER.size or raw[:4] != LOCAL_HEADER_SIGNATURE:
        raise ModelFileError(f"{where} has no local header where the zip directory puts it")
    _, _, flags, method, _, _, crc, compressed, size, name_length, extra_length = LOCAL_HEADER.unpack(raw)
    file.seek(name_length, os.SEEK_CUR)
    extra = file.read(extra_length)
    if method != info.compress_type:
        raise ModelFileError(f"{where}: compression method {method} in its local header, "
                             f"{info.compress_type} in the zip directory")
    if not flags & DATA_DESCRIPTOR_FLAG:
        if ZIP64_MARK in (size, compressed):
            size, compressed = _zip64_sizes(extra, size, compressed)
        if (crc, compressed, size) != (info.CRC, info.compress_size, info.file_size):
            raise ModelFileError(
                f"{where}: its local header says CRC {crc:08x}, {compressed} bytes stored, {size} in all; "
                f"the zip directory says CRC {info.CRC:08x}, {info.compress_size} stored, {info.file_size} in all"
            )
    return info.header_offset + LOCAL_HEADER.size + name_length + extra_length + info.compress_size


def _zip64_sizes(extra, size, compressed):
    """The sizes a local header marks as 0xFFFFFFFF, from its zip64 extra field (size first, as the format has it)."""
    offset = 0
    while offset + 4 <= len(extra):
        field_id, length = struct.unpack_from("<HH", extra, offset)
        values = extra[offset + 4:offset + 4 + length]
        if field_id == ZIP64_EXTRA_ID:
            sizes = iter(struct.unpack_from(f"<{len(values) // 8}Q", values))
            size = next(sizes, size) if size == ZIP64_MARK else size
            compressed = next(sizes, compressed) if compressed == ZIP64_MARK else compressed
            return size, compressed
        offset += 4 + length
    return size, compressed


def read_member(path, archive, info, read, whole=True):
    """``read(member)`` on the zip member ``info``, its failures as ModelFileError.

    ``whole``: ``read`` is to take the member to its end, which must be
    where the directory says it is; that is when zipfile checks the CRC.
    """
    try:
        with archive.open(info) as member:
            counted = _CountedReader(member)
            value = read(counted)
            if whole:
                _check_whole(path, info, counted)
            return value
    except ModelFileError:
        raise
    except MemoryError:
        raise ModelFileError(f"{path}: {info.filename} is too large to load into memory") from None
    except READ_ERRORS as error:
        raise ModelFileError(f"{path}: {info.filename} cannot be read ({clipped(error)})") from None


def _check_whole(path, info, counted):
    if counted.read(1):
        raise ModelFileError(f"{path}: {info.filename} has bytes after its array: the zip directory says "
                             f"{info.file_size} bytes, the array ends after {counted.count - 1}")
    if counted.count != info.file_size:
        raise ModelFileError(f"{path}: {info.filename} holds {counted.count} bytes, "
                             f"the zip directory says {info.file_size}")


class _CountedReader:
    """A member's ``read``, counting the bytes it gave."""

    def __init__(self, member):
        self.member = member
        self.count = 0

    def read(self, size=-1):
        data = self.member.read(size)
        self.count += len(data)
        return data


def npy_header(member):
    """``(shape, dtype)`` from the header of a ``.npy`` file, its length bounded before it is read; data unread."""
    version = np.lib.format.read_magic(member)
    read_header = NPY_HEADER_READERS.get(version)
    if read_header is None:
        raise ValueError(f".npy format version {version[0]}.{version[1]}, expected 1.0 or 2.0")
    length_field = NPY_HEADER_LENGTHS[version]
    raw_length = member.read(length_field.size)
    if len(raw_length) < length_field.size:
        raise ValueError("the .npy header ends before its length")
    length, = length_field.unpack(raw_length)
    if length > MAX_NPY_HEADER_BYTES:
        raise ValueError(f"a .npy header of {length} bytes, more than the {MAX_NPY_HEADER_BYTES} numpy reads")
    header = member.read(length)
    try:
        shape, _, dtype = read_header(io.BytesIO(raw_length + header))
    except (tokenize.TokenError, SyntaxError):  # from numpy's second try, for headers Python 2 wrote
        text = header.decode("latin1").rstrip()
        raise ValueError(f"the .npy header is not a Python literal: {quoted(text)}") from None
    return shape, dtype


read_npy_array = partial(np.lib.format.read_array, allow_pickle=False)
