"""Writing output files: the path checked before any work, the file written whole or not at all.

``save_model`` and the command line's ``--save`` and ``--output`` share these,
so that they refuse the same paths and none of them leaves a half-written file,
or a temporary one, behind; what a killed process left is removed by the next save to that path.
"""

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from pathlib import Path

TEMPORARY_SUFFIX = ".part"
TOKEN_BYTES = 8
# A save in progress keeps writing its temporary file, and one of the largest
# models here takes seconds: a file untouched for 10 minutes is a leftover.
STALE_AFTER_SECONDS = 600


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
    fails or is interrupted (any exception, KeyboardInterrupt included). An
    existing file at ``path`` keeps its permissions; a new one gets the usual
    ``0o666`` less the umask. An ``OSError`` names ``path``, never the
    temporary file, which the user did not name. Temporary files of ``path``
    that a killed process left (see :func:`remove_stale_temporary_files`) are
    removed first.
    """
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    remove_stale_temporary_files(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(TOKEN_BYTES)}{TEMPORARY_SUFFIX}")
    try:
        # created like any new file (0o666 less the umask, applied by the system), not
        # 0o600 as mkstemp would make it: os.replace keeps the new file's mode
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError as error:  # another writer's name: not ours to remove
        raise _about(path, error) from None
    except BaseException as error:
        # an interrupt can land after the file was made and before its handle was kept
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(error, OSError):
            raise _about(path, error) from None
        raise
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


def remove_stale_temporary_files(path):
    """Remove the temporary files of ``path`` that no save is writing: those a killed process left.

    Only this target's (``.NAME.<16 hex digits>.part`` beside it, regular
    files) and only those untouched for STALE_AFTER_SECONDS: a save in
    progress writes its file all along, and another process (or another
    machine, on a shared folder, where its process id says nothing) may be
    saving to the same path. Whatever cannot be removed is left, silently:
    a save never fails over another's leftovers.
    """
    pattern = re.compile(re.escape(f".{path.name}.") + f"[0-9a-f]{{{2 * TOKEN_BYTES}}}" + re.escape(TEMPORARY_SUFFIX))
    cutoff = time.time() - STALE_AFTER_SECONDS
    try:
        entries = os.scandir(path.parent)
    except OSError:
        return
    with entries:
        for entry in entries:
            if not pattern.fullmatch(entry.name):
                continue
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(entry.path)
            except OSError:
                continue


def _about(path, error):
    """The OSError ``error`` of the temporary file, told of ``path``."""
    return type(error)(error.errno, error.strerror, str(path))
