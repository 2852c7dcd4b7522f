"""Data: the MNIST-format datasets (IDX files, cached and verified) and their preprocessing."""

from batchnet.data.mnist import CLASS_NAMES, DatasetError, load_dataset, load_fashion_mnist, load_mnist
from batchnet.data.preprocessing import one_hot, scale_images

__all__ = ["CLASS_NAMES", "DatasetError", "load_dataset", "load_fashion_mnist", "load_mnist", "one_hot",
           "scale_images"]
