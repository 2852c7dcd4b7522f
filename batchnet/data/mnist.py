"""MNIST and Fashion-MNIST: finding, downloading and strictly parsing the IDX files.

``load_mnist()`` and ``load_fashion_mnist()`` return ``(x_train, y_train), (x_test,
y_test)`` as uint8 arrays, images ``(N, 28, 28)`` and labels ``(N,)``, like
``keras.datasets``; scale and encode them with :func:`batchnet.scale_images` and
:func:`batchnet.one_hot`.

The four files (``.gz`` or uncompressed) are read from the ``data_dir``
argument when one is given, and from nowhere else: a folder named on purpose
is never silently traded for another. Without it they are looked for, in
order, in ``$BATCHNET_DATA/<name>`` or ``$BATCHNET_DATA`` itself,
``~/.cache/batchnet/<name>`` and, for Fashion-MNIST, ``/usr/share/datasets/fashion-mnist``
(Debian's ``dataset-fashion-mnist``). When no folder holds all four, the missing
ones are downloaded into ``data_dir`` (made if need be) or else the first of
those folders, from public mirrors, checked against the published SHA-256 of the
``.gz`` archives, and renamed into place only once complete and verified.
"""

import gzip
import hashlib
import math
import os
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import urlopen

import numpy as np

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
UNSIGNED_BYTE = 0x08
CLASSES = 10
DOWNLOAD_CHUNK = 1 << 16
DOWNLOAD_TIMEOUT_S = 30

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


CLASS_NAMES = {
    "mnist": tuple(str(digit) for digit in range(CLASSES)),
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
}


class DatasetError(ValueError):
    """A data file is missing, corrupt, truncated or not what its name says."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    mirrors: tuple
    sha256: dict  # of each published .gz archive
    system_dirs: tuple = ()
    apt_package: str = ""
    # of the train and test labels as read (the values, no header): MNIST and
    # Fashion-MNIST files are alike in all else, and these tell which one a folder holds
    labels_sha256: dict = field(default_factory=dict)


DATASETS = {
    "mnist": DatasetSpec(
        name="mnist",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        sha256={
            "train-images-idx3-ubyte": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        labels_sha256={
            "train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
            "test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
        },
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        mirrors=(
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ),
        # The archives whose MD5s Zalando publishes; Debian's package re-gzips the
        # same content (its decompressed files match the published raw SHA-256s).
        sha256={
            "train-images-idx3-ubyte": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
        labels_sha256={
            "train": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
            "test": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
        },
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        apt_package="dataset-fashion-mnist",
    ),
}


def load_mnist(data_dir=None, download=True):
    """MNIST digits: ``(x_train, y_train), (x_test, y_test)``, uint8, 60,000 + 10,000 images."""
    return load_dataset("mnist", data_dir, download)


def load_fashion_mnist(data_dir=None, download=True):
    """Fashion-MNIST clothes: ``(x_train, y_train), (x_test, y_test)``, uint8, 60,000 + 10,000 images."""
    return load_dataset("fashion-mnist", data_dir, download)


def load_dataset(name, data_dir=None, download=True, splits=("train", "test")):
    """Find (or download) the IDX files of dataset ``name`` and parse them; given a
    ``data_dir``, there and nowhere else.

    One ``(images, labels)`` pair per split in ``splits``, in that order:
    ``((x_train, y_train), (x_test, y_test))`` by default. ``splits=("test",)``
    needs only the two test files (evaluating a model needs no training set).
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    if not splits or not set(splits) <= {"train", "test"}:
        raise ValueError(f"splits: expected 'train' and/or 'test', got {splits!r}")
    spec = DATASETS[name]
    bases = [base for key, base in FILES.items() if key.split("_")[0] in splits]
    folder = find_dataset_dir(spec, data_dir, bases)
    if folder is None:
        if not download:
            raise DatasetError(_missing_message(spec, data_dir, ["downloads disabled"], bases))
        folder = download_dataset(spec, data_dir, bases)
    pairs = []
    for split in splits:
        images, labels = _read_pair(_existing_file(folder, FILES[f"{split}_images"]),
                                    _existing_file(folder, FILES[f"{split}_labels"]))
        other = _dataset_with_labels(split, labels)
        if other is not None and other != name:
            raise DatasetError(f"{folder} holds {other}, not {name} (its {split} labels are {other}'s): "
                               f"give the folder of the {name} files")
        pairs.append((images, labels))
    return tuple(pairs)


def _dataset_with_labels(split, labels):
    """The known dataset whose ``split`` labels these are, or None (other IDX data is welcome)."""
    digest = hashlib.sha256(np.ascontiguousarray(labels).tobytes()).hexdigest()
    return next((name for name, spec in DATASETS.items() if spec.labels_sha256.get(split) == digest), None)


# -- where the files are --------------------------------------------------
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


def find_dataset_dir(spec, data_dir=None, bases=tuple(FILES.values())):
    """The first candidate folder that holds every file of ``bases`` (all four by default), or None."""
    for folder in candidate_dirs(spec, data_dir):
        if all(_existing_file(folder, base) is not None for base in bases):
            return folder
    return None


def _existing_file(folder, base):
    for candidate in (folder / f"{base}.gz", folder / base):
        if candidate.is_file():
            return candidate
    return None


# -- downloading ----------------------------------------------------------
def download_dataset(spec, data_dir=None, bases=tuple(FILES.values())):
    """Download the files of ``bases`` missing from the first candidate folder; return that folder."""
    target = candidate_dirs(spec, data_dir)[0]
    reasons = []
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(_missing_message(spec, data_dir, [f"cannot create {target}: {error}"], bases)) from None
    for base in bases:
        if _existing_file(target, base) is not None:
            continue
        if not _download_from_mirrors(spec, base, target, reasons):
            raise DatasetError(_missing_message(spec, data_dir, reasons, bases))
    return target


def _download_from_mirrors(spec, base, target, reasons):
    file_name = f"{base}.gz"
    for mirror in spec.mirrors:
        url = mirror + file_name
        try:
            download_file(url, target / file_name, spec.sha256[base])
            return True
        except (OSError, DatasetError) as error:
            reasons.append(f"{url}: {error}")
    return False


def download_file(url, destination, sha256):
    """Stream ``url`` to ``destination`` through a temporary file in the same folder.

    The file is renamed into place only once complete and matching ``sha256``;
    on any failure the temporary file is removed, so nothing half-written is left.
    """
    from tqdm.auto import tqdm

    destination = Path(destination)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.",
                                         suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as output, urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=destination.name, leave=False) as bar:
                while chunk := response.read(DOWNLOAD_CHUNK):
                    output.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if digest.hexdigest() != sha256:
            raise DatasetError(f"checksum mismatch: got sha256 {digest.hexdigest()}, expected {sha256}")
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _missing_message(spec, data_dir, reasons, bases):
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


# -- parsing --------------------------------------------------------------
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


def _read_pair(images_path, labels_path):
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if labels.size and labels.max() >= CLASSES:
        raise DatasetError(f"{labels_path}: label {labels.max()} is outside 0..{CLASSES - 1}")
    return images, labels
