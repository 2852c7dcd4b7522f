"""Preparing arrays for training: scaling images and one-hot labels."""

import numpy as np


def scale_images(images, dtype="float32"):
    """uint8 pixels ``[0, 255]`` -> floats in ``[0, 1]`` (the tutorial's missing ``x / 255``)."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"scale_images: expected uint8 pixels, got dtype {images.dtype}")
    return images.astype(dtype) / np.dtype(dtype).type(255)


def one_hot(labels, classes=None, dtype="float32"):
    """Integer labels ``(N,)`` -> one-hot rows ``(N, classes)`` (like ``keras.utils.to_categorical``)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"one_hot: expected integer labels of shape (N,), got {labels.dtype} {labels.shape}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot: labels must be non-negative, got {labels.min()}")
    if classes is None:
        classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and labels.max() >= classes:
        raise ValueError(f"one_hot: label {labels.max()} does not fit {classes} classes")
    encoded = np.zeros((len(labels), classes), dtype=dtype)
    encoded[np.arange(len(labels)), labels] = 1
    return encoded
