"""Where a dataset's files are looked for, and their download: verified by SHA-256, renamed into place.

The files are read from the ``data_dir`` argument when one is given, and from
nowhere else: a folder named on purpose is never silently traded for
another. Without it they are looked for, in order, in ``$BATCHNET_DATA/<name>``
or ``$BATCHNET_DATA`` itself, ``~/.cache/batchnet/<name>`` and the dataset's
system folders (Debian's ``dataset-fashion-mnist``). When no folder holds them
all, the missing ones are downloaded into ``data_dir`` or else the first of
those folders, from the dataset's mirrors, checked against the published
SHA-256 of the ``.gz`` archives, and renamed into place only once complete
and verified. A folder is made only once a mirror answers, and removed again
if nothing was downloaded into it; any network failure (a refused or broken
connection, a download cut short, a mirror sending more than
``MAX_DOWNLOAD_BYTES``) is a reason in the DatasetError, never its own
exception, and leaves no partial file.

A dataset here is anything with the fields of ``mnist.DatasetSpec`` (``name``,
``mirrors``, ``sha256``, ``system_dirs``, ``apt_package``); ``bases`` are its
file names without ``.gz``.
"""

import hashlib
import http.client
import os
import tempfile
from pathlib import Path
from urllib.request import urlopen

from batchnet.data.idx import DatasetError

DOWNLOAD_CHUNK = 1 << 16
DOWNLOAD_TIMEOUT_S = 30
# ten times the largest archive (Fashion-MNIST's 26 MB train images): a mirror that
# streams on and on fills neither the disk nor the time
MAX_DOWNLOAD_BYTES = 1 << 28


def candidate_dirs(spec, data_dir=None):
    """The folders searched for ``spec``'s files, in order (the first is where downloads go):
    ``data_dir`` alone when it is given."""
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    folders = []
    environment = os.environ.get("BATCHNET_DATA")
    if environment:
        folders += [Path(environment).expanduser() / spec.name, Path(environment).expanduser()]
    folders.append(Path.home() / ".cache" / "batchnet" / spec.name)
    folders += [Path(folder) for folder in spec.system_dirs]
    return folders


def find_dataset_dir(spec, data_dir, bases):
    """The first candidate folder that holds every file of ``bases``, or None."""
    for folder in candidate_dirs(spec, data_dir):
        try:
            if all(existing_file(folder, base) is not None for base in bases):
                return folder
        except OSError as error:  # a name too long for the file system, a folder we may not read
            raise DatasetError(f"{folder}: cannot look for the {spec.name} files there "
                               f"({error.strerror or error})") from None
    return None


def existing_file(folder, base):
    """``folder``'s file ``base``, gzipped (preferred) or not, or None."""
    for candidate in (folder / f"{base}.gz", folder / base):
        if candidate.is_file():
            return candidate
    return None


def download_dataset(spec, data_dir, bases):
    """Download the files of ``bases`` missing from the first candidate folder; return that folder."""
    target = candidate_dirs(spec, data_dir)[0]
    # the folders download_file would make, removed again if they stay empty
    to_make = [folder for folder in (target, *target.parents) if not _exists(folder)]
    reasons = []
    try:
        for base in bases:
            if existing_file(target, base) is not None:
                continue
            if not _download_from_mirrors(spec, base, target, reasons):
                raise DatasetError(missing_message(spec, data_dir, reasons, bases))
    except BaseException:
        for folder in to_make:  # deepest first
            _remove_if_empty(folder)
        raise
    return target


def _download_from_mirrors(spec, base, target, reasons):
    file_name = f"{base}.gz"
    for mirror in spec.mirrors:
        url = mirror + file_name
        try:
            download_file(url, target / file_name, spec.sha256[base])
            return True
        except (OSError, http.client.HTTPException, DatasetError) as error:
            reasons.append(f"{url}: {_reason(error)}")
    return False


def _reason(error):
    if isinstance(error, http.client.IncompleteRead):
        return f"the download broke off after {len(error.partial)} bytes ({error.expected} more were announced)"
    if isinstance(error, http.client.HTTPException):  # its str() alone may be empty or a bare status line
        return f"{type(error).__name__}: {error}"
    return str(error)


def _exists(folder):
    try:
        return folder.exists()
    except OSError:
        return False


def _remove_if_empty(folder):
    try:
        folder.rmdir()
    except OSError:  # not empty (a file was downloaded, or someone else wrote there), or never made
        pass


def download_file(url, destination, sha256):
    """Stream ``url`` to ``destination`` through a temporary file in the same folder.

    The file is renamed into place only once complete and matching ``sha256``;
    on any failure the temporary file is removed, so nothing half-written is left.
    The destination's folder is made (if need be) only once ``url`` answers.
    """
    from tqdm.auto import tqdm

    destination = Path(destination)
    with urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
        total = _announced_length(response)
        if total is not None and total > MAX_DOWNLOAD_BYTES:
            raise DatasetError(f"announces {total} bytes, more than the {MAX_DOWNLOAD_BYTES} a dataset file may have")
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatasetError(f"cannot create {destination.parent} ({error.strerror or error})") from None
        handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.",
                                             suffix=".part")
        try:
            digest, received = hashlib.sha256(), 0
            with os.fdopen(handle, "wb") as output, \
                    tqdm(total=total, unit="B", unit_scale=True, desc=destination.name, leave=False) as bar:
                while chunk := response.read(DOWNLOAD_CHUNK):
                    received += len(chunk)
                    if received > MAX_DOWNLOAD_BYTES:
                        raise DatasetError(f"sent more than the {MAX_DOWNLOAD_BYTES} bytes a dataset file may have")
                    output.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            if total is not None and received < total:  # http.client ends a short body quietly
                raise DatasetError(f"the download broke off after {received} of the {total} bytes announced")
            if digest.hexdigest() != sha256:
                raise DatasetError(f"checksum mismatch: got sha256 {digest.hexdigest()}, expected {sha256}")
            os.replace(temporary, destination)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _announced_length(response):
    """The response's Content-Length, or None when it has none (or one that is not a number)."""
    try:
        return int(response.headers.get("Content-Length")) or None
    except (TypeError, ValueError):
        return None


def missing_message(spec, data_dir, reasons, bases):
    """What a DatasetError says when the files of ``bases`` are nowhere: where they were looked for,
    why downloading them failed (``reasons``), and how to provide them."""
    names = ", ".join(f"{base}.gz" for base in bases)
    folders = "\n".join(f"  - {folder}{'' if folder.is_dir() else ' (no such folder)'}"
                        for folder in candidate_dirs(spec, data_dir))
    lines = [
        f"{spec.name}: the data files were not found and could not be downloaded.",
        f"Needed: {names} (gzipped or not).",
        f"Looked in:\n{folders}",
        "To provide them, put these files in one of:",
        "  - a folder given with --data-dir DIR (Python: data_dir=DIR)",
        f"  - $BATCHNET_DATA/{spec.name} or $BATCHNET_DATA (set the BATCHNET_DATA environment variable)",
        f"  - {Path.home() / '.cache' / 'batchnet' / spec.name}",
    ]
    if spec.apt_package:
        lines.append(f"  - or install the Debian package: sudo apt-get install {spec.apt_package}")
    lines.append(f"They are published at: {', '.join(spec.mirrors)}")
    if reasons:
        lines.append("Download attempts:\n" + "\n".join(f"  - {reason}" for reason in reasons))
    return "\n".join(lines)
