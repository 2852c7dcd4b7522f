"""Checks, made before any work, that the files and folders a command will write can be written.

A run that trains for minutes and then cannot save is refused at once instead.
"""

import tempfile

from batchnet.cli.errors import CommandError
from batchnet.saving.atomic import check_output_path


def check_output_file(option, path, example):
    """Refuse now, before any work, a file path that could not be written at the end."""
    try:
        check_output_path(path)
    except IsADirectoryError:
        raise CommandError(f"{option}: {path} is a folder; expected a file name, e.g. {path / example}") from None
    except NotADirectoryError as error:
        raise CommandError(f"{option}: {error.filename} is a file, not a folder") from None
    except FileNotFoundError as error:
        raise CommandError(f"{option}: the folder {error.filename} does not exist") from None
    except OSError as error:  # a name too long for the file system (argparse's types catch most), ...
        raise CommandError(f"{option}: cannot write {path} ({error.strerror or error})") from None
    check_folder_is_writable(option, path.parent)


def check_folder_to_make(option, folder):
    """``folder`` exists as a folder we may write in, or can be made."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CommandError(f"{option}: {existing} is a file, not a folder")
    check_folder_is_writable(option, existing)


def check_folder_is_writable(option, folder):
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise CommandError(f"{option}: cannot write in {folder} ({error.strerror or error})") from None
