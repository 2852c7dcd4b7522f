"""What the commands load, turned into CommandErrors: the backend, a dataset, a saved model,
and a batch of images shaped as a model takes them.

Heavy modules are imported where they are needed, so that ``batchnet --help`` stays quick.
"""

from backends import BackendUnavailable
from batchnet.cli.errors import CommandError, UsageError


def load_data(name, data_dir, splits=("train", "test"), verify=True):
    from batchnet.data.mnist import ChecksumMismatch, DatasetError, load_dataset

    if data_dir is not None:
        data_dir = data_dir.expanduser()
        if not data_dir.is_dir():
            found = "is a file, not a folder" if data_dir.exists() else "does not exist"
            raise CommandError(f"--data-dir: {data_dir} {found}")
    try:
        return load_dataset(name, data_dir, splits=splits, verify=verify)
    except ChecksumMismatch as error:
        raise CommandError(f"{error.path}: {error.said()}; --no-verify loads it anyway") from None
    except DatasetError as error:
        raise CommandError(str(error)) from None


def prepare(images, labels, dtype):
    """IDX images and labels as the networks take them: (N, 28, 28, 1) in [0, 1], one-hot targets."""
    from batchnet.data.preprocessing import one_hot, scale_images

    return scale_images(images, dtype)[..., None], one_hot(labels, 10, dtype)


def choose_backend(name):
    """The backend ``--backend`` names, else ``$BATCHNET_BACKEND``'s, else NumPy."""
    from backends import get_backend

    try:
        return get_backend(name)
    except BackendUnavailable as error:
        raise CommandError(str(error)) from None
    except ValueError as error:  # argparse has checked --backend: a bad $BATCHNET_BACKEND, which it names
        raise UsageError(str(error)) from None


def load_model(path, backend):
    from batchnet.saving.model_file import ModelFileError, load_model

    try:
        return load_model(path, backend=backend)
    except FileNotFoundError:
        raise CommandError(f"no model file at {path}") from None
    except ModelFileError as error:
        raise CommandError(str(error)) from None


def image_batch(source, images, sample_shape):
    """``images`` (from ``source``, for messages) as ``(N, *sample_shape)``; one image alone, or
    images without their single channel axis, are taken too."""
    if sample_shape is None:  # an untrained model: leave the shape to the model's own check
        images = images[None] if images.ndim == 2 else images
        return images[..., None] if images.ndim == 3 else images
    accepted = [sample_shape]
    if len(sample_shape) > 1 and sample_shape[-1] == 1:
        accepted.insert(0, sample_shape[:-1])
    if images.shape in accepted:
        images = images[None]
    if images.shape[1:] not in accepted:
        forms = " or ".join(f"(N, {', '.join(str(size) for size in shape)})" for shape in accepted)
        raise CommandError(f"the model cannot take these inputs: expected images {forms} like the model's "
                           f"input, got {images.shape} from {source}")
    if not len(images):
        raise CommandError(f"{source}: holds no images")
    return images.reshape(len(images), *sample_shape)


def predicted_classes(network, images, threads):
    return network.predict(images, threads=threads).argmax(axis=1)


def count(number, noun, plural=None):
    """``"1 image"``, ``"3 images"``: a number with its noun."""
    return f"{number} {noun}" if number == 1 else f"{number} {plural or noun + 's'}"
