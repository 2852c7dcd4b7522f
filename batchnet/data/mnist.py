"""MNIST and Fashion-MNIST: the table of the two datasets, their class names, and the loaders.

``load_mnist()`` and ``load_fashion_mnist()`` return ``(x_train, y_train), (x_test,
y_test)`` as uint8 arrays, images ``(N, 28, 28)`` and labels ``(N,)``, like
``keras.datasets``; scale and encode them with :func:`batchnet.scale_images` and
:func:`batchnet.one_hot`. Where the four files (``.gz`` or uncompressed) are
looked for and how they are downloaded is :mod:`batchnet.data.sources`; how
they are parsed, :mod:`batchnet.data.idx`.
"""

import hashlib
from dataclasses import dataclass, field

import numpy as np

from batchnet.data.idx import IMAGES_MAGIC, LABELS_MAGIC, DatasetError, idx_header, read_idx
from batchnet.data.sources import download_dataset, existing_file, find_dataset_dir, missing_message

CLASSES = 10
IMAGE_SHAPE = (28, 28)

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


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of four IDX files: where it is published and what its files must hash to."""

    name: str
    mirrors: tuple
    sha256: dict  # of each published .gz archive
    system_dirs: tuple = ()
    apt_package: str = ""
    # of the train and test labels as read (the values, no header): MNIST and
    # Fashion-MNIST files are alike in all else, and these tell which one a folder holds
    labels_sha256: dict = field(default_factory=dict)
    # of each published file decompressed, header included (what sha256sum says of the raw
    # file), and the images in each split of those files: a file of exactly that shape is
    # taken for the published one and must hash to it
    raw_sha256: dict = field(default_factory=dict)
    split_sizes: dict = field(default_factory=dict)


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
        raw_sha256={
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        split_sizes={"train": 60000, "test": 10000},
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
        raw_sha256={
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        split_sizes={"train": 60000, "test": 10000},
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        apt_package="dataset-fashion-mnist",
    ),
}


class ChecksumMismatch(DatasetError):
    """A file shaped as a published one of a known dataset, whose content is not that file's."""

    def __init__(self, path, dataset, base, got, expected):
        self.path, self.dataset, self.base, self.got, self.expected = path, dataset, base, got, expected
        super().__init__(f"{path}: {self.said()}; verify=False loads it anyway")

    def said(self):
        """What is wrong, without the way around it (the command line has its own)."""
        return (f"has the shape of {self.dataset}'s {self.base} but not its content (sha256 {self.got}, "
                f"expected {self.expected}): the file is corrupt or modified")


def load_mnist(data_dir=None, download=True, verify=True):
    """MNIST digits: ``(x_train, y_train), (x_test, y_test)``, uint8, 60,000 + 10,000 images."""
    return load_dataset("mnist", data_dir, download, verify=verify)


def load_fashion_mnist(data_dir=None, download=True, verify=True):
    """Fashion-MNIST clothes: ``(x_train, y_train), (x_test, y_test)``, uint8, 60,000 + 10,000 images."""
    return load_dataset("fashion-mnist", data_dir, download, verify=verify)


def load_dataset(name, data_dir=None, download=True, splits=("train", "test"), verify=True):
    """Find (or download) the IDX files of dataset ``name`` and parse them; given a
    ``data_dir``, there and nowhere else.

    One ``(images, labels)`` pair per split in ``splits``, in that order:
    ``((x_train, y_train), (x_test, y_test))`` by default. ``splits=("test",)``
    needs only the two test files (evaluating a model needs no training set).

    A file with the shape of the published one (60,000 or 10,000 images or
    labels) is taken for it and must have its SHA-256, else
    :class:`ChecksumMismatch`; ``verify=False`` loads such a file anyway.
    Files of other shapes are other IDX data, welcome as they are. The
    splits must hold images of one size.
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
            raise DatasetError(missing_message(spec, data_dir, ["downloads disabled"], bases))
        folder = download_dataset(spec, data_dir, bases)
    pairs = []
    for split in splits:
        paths = existing_file(folder, FILES[f"{split}_images"]), existing_file(folder, FILES[f"{split}_labels"])
        images, labels = _read_pair(*paths)
        other = _dataset_with_labels(split, labels)
        if other is not None and other != name:
            raise DatasetError(f"{folder} holds {other}, not {name} (its {split} labels are {other}'s): "
                               f"give the folder of the {name} files")
        if verify:
            _check_published(spec, split, paths[0], images, IMAGES_MAGIC)
            _check_published(spec, split, paths[1], labels, LABELS_MAGIC)
        pairs.append((images, labels))
    sizes = {split: images.shape[1:] for split, (images, _) in zip(splits, pairs)}
    if len(set(sizes.values())) > 1:
        said = " but ".join(f"the {split} images are {'x'.join(map(str, size))}" for split, size in sizes.items())
        raise DatasetError(f"{folder}: {said}: a network trained on one split could not take the other")
    return tuple(pairs)


def _check_published(spec, split, path, array, magic):
    """Refuse ``array`` (read from ``path``) if it has the published file's shape but not its SHA-256."""
    if split not in spec.split_sizes:
        return
    published_shape = (spec.split_sizes[split], *IMAGE_SHAPE) if magic == IMAGES_MAGIC else (spec.split_sizes[split],)
    if array.shape != published_shape:
        return
    base = FILES[f"{split}_{'images' if magic == IMAGES_MAGIC else 'labels'}"]
    # the header follows from the magic number and shape, both checked already
    digest = hashlib.sha256(idx_header(magic, array.shape))
    digest.update(np.ascontiguousarray(array))
    if digest.hexdigest() != spec.raw_sha256[base]:
        raise ChecksumMismatch(path, spec.name, base, digest.hexdigest(), spec.raw_sha256[base])


def _dataset_with_labels(split, labels):
    """The known dataset whose ``split`` labels these are, or None (other IDX data is welcome)."""
    digest = hashlib.sha256(np.ascontiguousarray(labels).tobytes()).hexdigest()
    return next((name for name, spec in DATASETS.items() if spec.labels_sha256.get(split) == digest), None)


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
