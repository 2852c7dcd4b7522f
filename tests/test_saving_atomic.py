"""batchnet.saving.atomic, as save_model uses it: the path checked first, the file replaced whole or not at all."""

import errno
import os
import stat

import numpy as np
import pytest

from batchnet.models import tutorial_mlp
from batchnet.saving.model_file import save_model
from saving_files import every_layer_network, trained


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    network, _ = trained(every_layer_network("float32"))
    target = tmp_path / "model.npz"
    target.write_bytes(b"the user's earlier model")

    def failing_savez(file, **arrays):
        file.write(b"half")
        raise OSError("disk full (test)")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        save_model(network, target)
    assert target.read_bytes() == b"the user's earlier model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]



def test_saving_over_a_file_keeps_its_permissions(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"the user's earlier model")
    target.chmod(0o604)
    save_model(tutorial_mlp(), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o604



def test_a_new_file_gets_the_permissions_the_umask_allows(tmp_path):
    previous = os.umask(0o027)
    try:
        save_model(tutorial_mlp(), tmp_path / "model.npz")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "model.npz").stat().st_mode) == 0o640



def test_the_file_is_on_disk_before_it_replaces_the_target(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda *paths: events.append("replace") or real_replace(*paths))
    save_model(tutorial_mlp(), tmp_path / "model.npz")
    assert events == ["fsync", "replace"]



def test_a_failed_write_names_the_users_path_not_the_temporary_file(tmp_path, monkeypatch):
    def disk_full(file, **arrays):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left") as error:
        save_model(tutorial_mlp(), tmp_path / "model.npz")
    assert error.value.filename == str(tmp_path / "model.npz")
    assert ".part" not in str(error.value)
    assert list(tmp_path.iterdir()) == []



def test_a_failed_rename_names_the_users_path_not_the_temporary_file(tmp_path, monkeypatch):
    def refused(source, target):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(source), str(target))

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(PermissionError) as error:
        save_model(tutorial_mlp(), tmp_path / "model.npz")
    assert str(error.value) == f"[Errno {errno.EACCES}] {os.strerror(errno.EACCES)}: '{tmp_path / 'model.npz'}'"
    assert list(tmp_path.iterdir()) == []



def test_a_folder_that_refuses_new_files_is_reported_with_the_users_path(tmp_path, monkeypatch):
    def refused(path, flags, mode=0o777):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(PermissionError) as error:
        save_model(tutorial_mlp(), tmp_path / "model.npz")
    assert str(error.value) == f"[Errno {errno.EACCES}] {os.strerror(errno.EACCES)}: '{tmp_path / 'model.npz'}'"



def test_saving_onto_a_folder_fails_and_leaves_it_as_it_was(tmp_path):
    folder = tmp_path / "model.npz"
    folder.mkdir()
    (folder / "notes.txt").write_text("kept")
    with pytest.raises(IsADirectoryError, match=f"not a folder: '{folder}'"):
        save_model(tutorial_mlp(), folder)
    assert [path.name for path in tmp_path.iterdir()] == ["model.npz"]
    assert [path.name for path in folder.iterdir()] == ["notes.txt"]



def test_a_path_ending_in_a_slash_names_a_folder_not_a_file(tmp_path):
    with pytest.raises(IsADirectoryError, match="not a folder: '.*new/'"):
        save_model(tutorial_mlp(), f"{tmp_path}/new/")
    assert list(tmp_path.iterdir()) == []



def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"no such folder: '{tmp_path / 'missing'}'"):
        save_model(tutorial_mlp(), tmp_path / "missing" / "model.npz")
    assert list(tmp_path.iterdir()) == []



def test_a_parent_that_is_a_file_is_named(tmp_path):
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(NotADirectoryError, match=f"a file, not a folder: '{tmp_path / 'afile'}'"):
        save_model(tutorial_mlp(), tmp_path / "afile" / "model.npz")
    assert [path.name for path in tmp_path.iterdir()] == ["afile"]
