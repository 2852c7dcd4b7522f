"""Data: the MNIST-format datasets (IDX files, found or downloaded and verified) and their preprocessing.

``mnist`` has the datasets and their loaders, ``sources`` where their files
come from, ``idx`` the file format, ``preprocessing`` scaling and one-hot labels.
"""

from batchnet.data.idx import DatasetError, read_idx
from batchnet.data.mnist import CLASS_NAMES, ChecksumMismatch, load_dataset, load_fashion_mnist, load_mnist
from batchnet.data.preprocessing import one_hot, scale_images

__all__ = ["CLASS_NAMES", "ChecksumMismatch", "DatasetError", "load_dataset", "load_fashion_mnist", "load_mnist",
           "one_hot", "read_idx", "scale_images"]
