"""The command line at its limits: paths too long, absurd counts, empty or mismatched data, no command.

Each is refused (or corrected, with a note) before any training, in one line
without a traceback: argparse's usage message and status 2 for an argument,
status 1 for data that cannot be used.
"""

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from batchnet import NeuralNetwork, cli
from batchnet.cli import arguments
from batchnet.data import mnist
from batchnet.training.parallel import available_cores
from data_files import isolated, write_dataset, write_idx  # noqa: F401 - isolated is a fixture


def name_max(folder):
    return os.pathconf(folder, "PC_NAME_MAX")


@pytest.fixture
def data_dir(isolated):
    folder = isolated / "data"
    write_dataset(folder, train=24, test=6)
    return folder


@pytest.fixture
def fits(monkeypatch):
    """The keyword arguments of every NeuralNetwork.fit the command makes (fit runs as usual)."""
    original, calls = NeuralNetwork.fit, []

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NeuralNetwork, "fit", spy)
    return calls


@pytest.fixture
def no_fits(monkeypatch):
    """Like ``fits``, but fit trains nothing: for arguments that must be refused before training."""
    calls = []

    def record(self, *args, **kwargs):
        calls.append(kwargs)
        return self

    monkeypatch.setattr(NeuralNetwork, "fit", record)
    return calls


def quick_train(data_dir, *options):
    return ["train", "--data-dir", str(data_dir), "--model", "mlp", "--epochs", "1", "--verbose", "0", *options]


def usage_error(capsys, argv):
    """The last stderr line of a command that argparse refuses with status 2."""
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "usage: batchnet" in err and "Traceback" not in err
    return err.strip().splitlines()[-1]


# -- paths --------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["train", "--save", "{long}.npz"],
    ["train", "--data-dir", "{long}"],
    ["train", "--plot", "{long}/plots"],
    ["predict", "model.npz", "--output", "{long}.npy"],
    ["evaluate", "model.npz", "--data-dir", "{long}"],
    ["export", "model.npz", "{long}.onnx"],
])
def test_a_name_too_long_for_the_file_system_is_a_usage_error(tmp_path, capsys, command):
    long = tmp_path / ("n" * max(300, name_max(tmp_path) + 1))
    argv = [part.format(long=long) for part in command]
    line = usage_error(capsys, argv)
    option = next(part for part in command if part.startswith("--")) if command[0] != "export" else "output"
    too_long = max(Path(argv[-1]).parts, key=len)
    assert f"argument {option}: expected names of at most" in line
    assert f"got one of {len(too_long)}: {too_long[:40]}..." in line


def test_a_too_long_name_error_says_the_file_systems_limit(tmp_path, capsys):
    long = "n" * (name_max(tmp_path) + 1)
    line = usage_error(capsys, ["train", "--data-dir", str(tmp_path / long)])
    assert f"expected names of at most {name_max(tmp_path)} bytes" in line
    assert f"got one of {len(long)}" in line


def test_a_save_name_leaving_no_room_for_the_temporary_file_is_refused_before_training(data_dir, capsys, fits):
    # fits the file system, but the temporary file written first, beside it, would not
    name = "m" * (name_max(data_dir) - arguments.TEMPORARY_NAME_EXTRA + 1)
    line = usage_error(capsys, quick_train(data_dir, "--save", str(data_dir / name)))
    assert f"less {arguments.TEMPORARY_NAME_EXTRA} for the temporary file" in line
    assert not fits


def test_an_output_name_that_fits_only_without_the_npy_np_save_adds_is_refused(tmp_path, capsys):
    name = "o" * (name_max(tmp_path) - arguments.TEMPORARY_NAME_EXTRA - 1)  # fits, but not with ".npy"
    line = usage_error(capsys, ["predict", "model.npz", "--output", str(tmp_path / name)])
    assert f"argument --output: expected names of at most {name_max(tmp_path) - arguments.TEMPORARY_NAME_EXTRA}" in line
    assert f"got one of {len(name) + len('.npy')}" in line


def test_the_longest_save_name_that_fits_is_saved(data_dir, capsys):
    path = data_dir / ("m" * (name_max(data_dir) - arguments.TEMPORARY_NAME_EXTRA))
    assert cli.main(quick_train(data_dir, "--save", str(path))) == 0
    assert path.is_file() and sorted(p.name for p in data_dir.iterdir() if p.name.startswith(".")) == []


# -- counts -------------------------------------------------------------------

def test_threads_beyond_the_cores_are_capped_at_the_cores_with_a_note(data_dir, capsys, fits):
    assert cli.main(quick_train(data_dir, "--threads", str(10 ** 9))) == 0
    cores = available_cores()
    assert fits[-1]["threads"] == cores
    assert (f"batchnet train: note: --threads {10 ** 9} is more than the {cores} cores this process may run on: "
            f"using {cores}") in capsys.readouterr().err


def test_threads_within_the_cores_are_kept_without_a_note(data_dir, capsys, fits):
    assert cli.main(quick_train(data_dir, "--threads", "1")) == 0
    assert fits[-1]["threads"] == 1
    assert "note" not in capsys.readouterr().err


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_evaluate_and_predict_cap_threads_too(data_dir, tmp_path, capsys, monkeypatch, command):
    model = tmp_path / "model.npz"
    assert cli.main(quick_train(data_dir, "--save", str(model))) == 0
    original, threads_used = getattr(NeuralNetwork, command), []

    def spy(self, *args, threads=None, **kwargs):
        threads_used.append(threads)
        return original(self, *args, threads=threads, **kwargs)

    monkeypatch.setattr(NeuralNetwork, command, spy)
    capsys.readouterr()
    assert cli.main([command, str(model), "--data-dir", str(data_dir), "--threads", str(10 ** 9)]) == 0
    assert threads_used == [available_cores()]
    assert f"batchnet {command}: note: --threads {10 ** 9} is more than" in capsys.readouterr().err


def test_epochs_above_the_bound_are_a_usage_error(data_dir, capsys, no_fits):
    line = usage_error(capsys, quick_train(data_dir, "--epochs", str(10 ** 12)))
    assert f"argument --epochs: expected at most {arguments.MAX_EPOCHS} epochs, got {10 ** 12}" in line
    assert not no_fits


def test_the_epoch_bound_itself_is_accepted():
    args = cli.build_parser().parse_args(["train", "--epochs", str(arguments.MAX_EPOCHS)])
    assert args.epochs == arguments.MAX_EPOCHS


@pytest.mark.parametrize("split, trained_on", [("0", 24), ("0.25", 18)])
def test_a_batch_larger_than_the_training_set_takes_the_whole_set_with_a_note(data_dir, capsys, fits, split,
                                                                              trained_on):
    assert cli.main(quick_train(data_dir, "--batch-size", str(10 ** 9), "--validation-split", split)) == 0
    assert fits[-1]["batch_size"] == trained_on
    captured = capsys.readouterr()
    assert (f"batchnet train: note: --batch-size {10 ** 9} is more than the {trained_on} training images: "
            f"each step takes all {trained_on}") in captured.err
    assert f"batch {trained_on}," in captured.out


def test_no_command_prints_the_help_and_an_error_line_and_exits_2(capsys):
    assert cli.main([]) == 2
    captured = capsys.readouterr()
    assert "usage: batchnet" in captured.out
    error = captured.err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("batchnet: error: expected a command: ")
    for command in cli.COMMANDS:
        assert command.__name__.rsplit(".", 1)[-1] in error[0]


# -- data that cannot be trained on ---------------------------------------------

def one_line_failure(capsys, argv):
    """stdout and the one stderr line of a command that exits with status 1."""
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return captured.out, lines[0]


@pytest.mark.parametrize("split, said", [("train", "training"), ("t10k", "test")])
def test_a_split_of_no_images_is_refused_before_training(isolated, capsys, fits, split, said):
    folder = isolated / "data"
    write_dataset(folder)
    write_idx(folder / f"{split}-images-idx3-ubyte.gz", np.zeros((0, 28, 28)))
    write_idx(folder / f"{split}-labels-idx1-ubyte.gz", np.zeros(0))
    out, line = one_line_failure(capsys, quick_train(folder))
    assert line == f"batchnet train: the mnist {said} set holds no images; expected at least 1"
    assert not fits and "training" not in out


def test_training_images_of_another_size_than_the_test_images_are_refused_before_training(isolated, capsys, fits):
    folder = isolated / "data"
    write_dataset(folder)
    write_idx(folder / "train-images-idx3-ubyte.gz", np.zeros((12, 32, 32)))
    out, line = one_line_failure(capsys, quick_train(folder))
    assert "the train images are 32x32 but the test images are 28x28" in line
    assert not fits and "training" not in out


def test_a_modified_copy_of_a_known_dataset_is_refused_unless_no_verify(isolated, capsys, monkeypatch):
    folder = isolated / "data"
    write_dataset(folder, train=24, test=6, gz=False)
    raw = {base: hashlib.sha256((folder / base).read_bytes()).hexdigest() for base in mnist.FILES.values()}
    spec = mnist.DATASETS["mnist"]
    monkeypatch.setitem(mnist.DATASETS, "mnist", mnist.DatasetSpec(
        spec.name, spec.mirrors, spec.sha256, raw_sha256=raw, split_sizes={"train": 24, "test": 6}))
    content = bytearray((folder / "t10k-images-idx3-ubyte").read_bytes())
    content[-1] ^= 0x80
    (folder / "t10k-images-idx3-ubyte").write_bytes(bytes(content))
    _, line = one_line_failure(capsys, quick_train(folder))
    assert "t10k-images-idx3-ubyte: has the shape of mnist's t10k-images-idx3-ubyte but not its content" in line
    assert line.endswith("--no-verify loads it anyway")
    assert cli.main(quick_train(folder, "--no-verify")) == 0
