"""A save that is interrupted (SIGTERM, Ctrl-C) or killed (SIGKILL): the old file kept, no temporary file left.

The saves run in real processes, made slow the same way every time: the child
replaces ``np.savez`` by a writer that writes a few bytes, says so on stdout
and waits, so that the signal lands while the temporary file is open.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from batchnet.models import tutorial_mlp
from batchnet.saving import atomic
from batchnet.saving.model_file import save_model
from cli_data import write_tiny_dataset

OLD_MODEL = b"the user's earlier model"
# np.savez, in the child, becomes a save that has begun and does not end by itself
SLOW_SAVE = """
import sys, time
import numpy as np

def slow_savez(file, **arrays):
    file.write(b"the first bytes of the new model")
    file.flush()
    print("ready", flush=True)
    time.sleep(120)

np.savez = slow_savez
"""
CLI_CHILD = SLOW_SAVE + "from batchnet import cli\nsys.exit(cli.main(sys.argv[1:]))\n"
LIBRARY_CHILD = SLOW_SAVE + """
from batchnet.models import tutorial_mlp
from batchnet.saving.model_file import save_model
save_model(tutorial_mlp(), sys.argv[1])
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny") / "data", train=64, test=20)


def start_until_ready(script, *arguments):
    """The child running ``script``, once it has said ``ready`` (in the middle of a save, or of training)."""
    child = subprocess.Popen([sys.executable, "-c", script, *map(str, arguments)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in child.stdout:
        if line == "ready\n":
            return child
    child.wait(timeout=30)
    raise AssertionError(f"the child ended before it was ready: status {child.returncode}, {child.stderr.read()}")


def temporary_files(folder):
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".part"))


def test_sigterm_during_a_save_by_the_command_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, data_dir):
    target = tmp_path / "model.npz"
    target.write_bytes(OLD_MODEL)
    child = start_until_ready(CLI_CHILD, "train", "--data-dir", data_dir, "--model", "mlp", "--epochs", "1",
                         "--verbose", "0", "--save", target)
    assert len(temporary_files(tmp_path)) == 1  # the save had begun
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 128 + signal.SIGTERM
    assert stderr == "batchnet train: terminated (SIGTERM)\n"
    assert target.read_bytes() == OLD_MODEL
    assert temporary_files(tmp_path) == []


def test_sigterm_during_training_ends_it_as_ctrl_c_does_with_the_status_of_sigterm(tmp_path, data_dir):
    target = tmp_path / "model.npz"
    # the child's first optimizer step says so and waits for the signal
    script = """
import sys, time
from batchnet import cli
from batchnet.optimizers import Adam
def announced_step(self, layers):
    print("ready", flush=True)
    time.sleep(120)
Adam.step = announced_step
sys.exit(cli.main(sys.argv[1:]))
"""
    child = start_until_ready(script, "train", "--data-dir", data_dir, "--model", "mlp", "--epochs", "1",
                         "--verbose", "0", "--save", target)
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 128 + signal.SIGTERM
    assert stderr == (f"batchnet train: training interrupted during epoch 1; nothing was saved to {target}, "
                      "as an interrupted run never is\n")
    assert list(tmp_path.iterdir()) == []


def test_a_temporary_file_left_by_a_killed_save_is_removed_by_the_next_save(tmp_path):
    target = tmp_path / "model.npz"
    child = start_until_ready(LIBRARY_CHILD, target)
    child.kill()  # SIGKILL: nothing in the child runs
    child.wait(timeout=30)
    left, = temporary_files(tmp_path)
    assert left.startswith(".model.npz.")
    stale = time.time() - atomic.STALE_AFTER_SECONDS - 60
    os.utime(tmp_path / left, (stale, stale))
    save_model(tutorial_mlp(), target)
    assert temporary_files(tmp_path) == []
    assert target.stat().st_size > 0


def test_a_temporary_file_another_save_may_still_be_writing_is_left_alone(tmp_path):
    target = tmp_path / "model.npz"
    child = start_until_ready(LIBRARY_CHILD, target)
    try:
        left, = temporary_files(tmp_path)
        save_model(tutorial_mlp(), target)  # a save to the same path while the child's is under way
        assert temporary_files(tmp_path) == [left]
    finally:
        child.kill()
        child.wait(timeout=30)


def test_only_this_targets_temporary_files_are_removed(tmp_path):
    target = tmp_path / "model.npz"
    token = "0123456789abcdef"
    names = [f".model.npz.{token}.part",  # a leftover of this target: removed
             f".other.npz.{token}.part", f"model.npz.{token}.part", f".model.npz.{token}.part.kept",
             f".model.npz.{token[:-1]}.part", f".model.npz.{token.upper()}.part", ".model.npz.part"]
    stale = time.time() - atomic.STALE_AFTER_SECONDS - 60
    for name in names:
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (stale, stale))
    (tmp_path / f".model.npz.{'f' * 16}.part").mkdir()  # the right name, but a folder
    os.utime(tmp_path / f".model.npz.{'f' * 16}.part", (stale, stale))
    save_model(tutorial_mlp(), target)
    remaining = sorted(path.name for path in tmp_path.iterdir())
    assert remaining == sorted([*names[1:], f".model.npz.{'f' * 16}.part", "model.npz"])


def test_ctrl_c_during_a_save_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "model.npz"
    target.write_bytes(OLD_MODEL)

    def interrupted_savez(file, **arrays):
        file.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted_savez)
    with pytest.raises(KeyboardInterrupt):
        save_model(tutorial_mlp(), target)
    assert target.read_bytes() == OLD_MODEL
    assert [path.name for path in tmp_path.iterdir()] == ["model.npz"]


def test_an_interrupt_as_the_temporary_file_is_made_leaves_none(tmp_path, monkeypatch):
    # the file exists, and the interrupt lands before write_atomically has its handle
    real_open = os.open

    def interrupted_open(path, flags, mode=0o777):
        handle = real_open(path, flags, mode)
        os.close(handle)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "open", interrupted_open)
    with pytest.raises(KeyboardInterrupt):
        save_model(tutorial_mlp(), tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []
