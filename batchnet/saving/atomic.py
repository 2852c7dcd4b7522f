"""Writing output files: the path checked before any work, the file written whole or not at all.

``save_model`` and the command line's ``--save`` and ``--output`` share these,
so that they refuse the same paths and none of them leaves a half-written file,
or a temporary one, behind.
"""

import errno
import os
import secrets
import stat
from pathlib import Path


def names_a_folder(text):
    """Whether the path ``text`` is spelled as a folder (a trailing ``/``), which ``Path()`` would forget."""
    return text.endswith(("/", os.sep))


def check_output_path(path):
    """``path`` as a ``Path`` to a file that can be created or replaced, else the ``OSError`` that says why.

    Refused before any work is done: a path spelled as a folder or naming an
    existing one (``IsADirectoryError``), a parent folder that does not exist
    (``FileNotFoundError``) and a parent that is a file (``NotADirectoryError``);
    the last two name the parent.
    """
    try:
        text = os.fsdecode(path)
    except TypeError:
        raise TypeError(f"expected a path (str or os.PathLike), got {type(path).__name__}") from None
    target = Path(text)
    if names_a_folder(text) or target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "expected a file path, not a folder", text)
    folder = target.parent
    if not folder.exists():
        raise FileNotFoundError(errno.ENOENT, "no such folder", str(folder))
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "a file, not a folder", str(folder))
    return target


def write_atomically(path, write):
    """``write(file)`` into a new binary file beside ``path``, renamed over ``path`` once complete and on disk.

    ``path`` is never half-written, and nothing is left behind when writing
    fails. An existing file at ``path`` keeps its permissions; a new one gets
    the usual ``0o666`` less the umask. An ``OSError`` names ``path``, never the
    temporary file, which the user did not name.
    """
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.part")
    try:
        # created like any new file (0o666 less the umask, applied by the system), not
        # 0o600 as mkstemp would make it: os.replace keeps the new file's mode
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise _about(path, error) from None
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            if mode is not None:
                os.fchmod(file.fileno(), mode)
            # on disk before the rename: else a crash soon after it could leave an
            # empty file where the old one was
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno is not None:
            raise _about(path, error) from None
        raise


def _about(path, error):
    """The OSError ``error`` of the temporary file, told of ``path``."""
    return type(error)(error.errno, error.strerror, str(path))
