"""``batchnet train`` on tiny data (a few hundred images written by the test): training, saving, plots, Ctrl-C."""

import errno
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from batchnet import cli
from batchnet.data import mnist as datasets
from batchnet.saving.model_file import load_model


def test_train_prints_test_accuracy_and_time(data_dir, capsys):
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--epochs", "1", "--verbose", "0"]) == 0
    output = capsys.readouterr().out
    assert "training mlp on mnist: 240 images, 1 epoch, adam lr=0.001, batch 32, numpy float32" in output
    assert "test accuracy: " in output and "(test loss" in output and "60 images" in output
    assert "s training" in output


@pytest.mark.parametrize("model, epochs, lr", [("tutorial-cnn", 2, 3e-3), ("cnn", 2, 3e-3), ("mlp", 10, 1e-2)])
def test_train_every_model_learns_the_tiny_task(data_dir, capsys, model, epochs, lr):
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", model, "--epochs", str(epochs),
                     "--verbose", "0", "--lr", str(lr), "--batch-size", "16", "--limit", "96"]) == 0
    accuracy = float(capsys.readouterr().out.split("test accuracy: ")[1].split()[0])
    assert accuracy > 0.5  # chance is 0.1


def test_same_seed_gives_the_same_accuracy(data_dir, capsys):
    arguments = ["train", "--data-dir", str(data_dir), "--model", "mlp", "--epochs", "1", "--verbose", "0",
                 "--seed", "3"]
    cli.main(arguments)
    first = capsys.readouterr().out.split("test accuracy: ")[1].split()[0]
    cli.main(arguments)
    assert capsys.readouterr().out.split("test accuracy: ")[1].split()[0] == first


def test_train_float64_with_sgd_validation_split_and_threads(data_dir, tmp_path, capsys):
    path = tmp_path / "mlp.npz"
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--epochs", "1", "--verbose", "2",
                     "--dtype", "float64", "--optimizer", "sgd", "--lr", "0.5", "--threads", "1",
                     "--validation-split", "0.25", "--save", str(path)]) == 0
    output = capsys.readouterr().out
    assert "240 images (0.25 held out for validation)" in output and "sgd lr=0.5" in output
    assert "val_accuracy=" in output
    assert load_model(path).dtype == np.float64


def test_train_saves_a_model_that_evaluate_reads(saved_model, data_dir, capsys):
    assert cli.main(["evaluate", str(saved_model), "--data-dir", str(data_dir)]) == 0
    output = capsys.readouterr().out
    assert output.startswith("test accuracy: ") and "60 mnist test images" in output


def test_plot_writes_three_pngs(data_dir, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    folder = tmp_path / "plots"
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--epochs", "2", "--verbose", "0",
                     "--validation-split", "0.2", "--plot", str(folder)]) == 0
    for name in ("learning_curves.png", "confusion_matrix.png", "misclassified.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_fails_before_training(data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert cli.main(["train", "--data-dir", str(data_dir), "--plot", str(tmp_path / "plots")]) == 1
    captured = capsys.readouterr()
    assert "pip install 'batchnet[plot]'" in captured.err
    assert "training" not in captured.out


@pytest.mark.parametrize("has_data", [True, False])
def test_unavailable_backend_exits_1_with_the_reason(data_dir, tmp_path, capsys, has_data):
    # without data too: the backend is checked first, so no download is tried for nothing
    import backends

    reason = backends.cupy_unavailable_reason()
    if reason is None:
        pytest.skip("cupy works here")
    folder = data_dir if has_data else tmp_path
    assert cli.main(["train", "--data-dir", str(folder), "--backend", "cupy", "--verbose", "0"]) == 1
    error = capsys.readouterr().err
    assert reason in error and "data files" not in error


def test_save_into_a_missing_folder_fails_before_training(data_dir, tmp_path, capsys):
    assert cli.main(["train", "--data-dir", str(data_dir), "--save", str(tmp_path / "absent" / "m.npz")]) == 1
    captured = capsys.readouterr()
    assert "does not exist" in captured.err and "training" not in captured.out


def test_validation_split_leaving_no_training_images_exits_1_with_one_line(data_dir, capsys):
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--limit", "1",
                     "--validation-split", "0.5", "--verbose", "0"]) == 1
    error = capsys.readouterr().err
    assert "validation_split leaves no training samples" in error and error.count("\n") == 1


def test_a_bug_raised_during_training_is_not_turned_into_one_line(data_dir, monkeypatch):
    from batchnet import FCLayer

    def broken(self, output_error, need_input_error=True):
        raise ValueError("a bug in a layer (test)")

    monkeypatch.setattr(FCLayer, "backward", broken)
    with pytest.raises(ValueError, match="a bug in a layer"):
        cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--epochs", "1", "--verbose", "0"])


@pytest.mark.parametrize("plot", ["afile", "afile/plots"])
def test_plot_into_a_file_fails_before_training(data_dir, tmp_path, capsys, plot):
    pytest.importorskip("matplotlib")
    (tmp_path / "afile").write_text("mine")
    assert cli.main(["train", "--data-dir", str(data_dir), "--plot", str(tmp_path / plot)]) == 1
    captured = capsys.readouterr()
    assert f"--plot: {tmp_path / 'afile'} is a file, not a folder" in captured.err
    assert "training" not in captured.out and (tmp_path / "afile").read_text() == "mine"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_plot_into_a_folder_that_cannot_be_made_fails_before_training(data_dir, capsys):
    pytest.importorskip("matplotlib")
    assert cli.main(["train", "--data-dir", str(data_dir), "--plot", "/proc/batchnet-plots"]) == 1
    captured = capsys.readouterr()
    assert "--plot: cannot write in /proc" in captured.err and "training" not in captured.out


def test_save_onto_a_folder_fails_before_training(data_dir, tmp_path, capsys):
    (tmp_path / "models").mkdir()
    assert cli.main(["train", "--data-dir", str(data_dir), "--save", str(tmp_path / "models")]) == 1
    captured = capsys.readouterr()
    assert f"--save: {tmp_path / 'models'} is a folder; expected a file name, e.g. " in captured.err
    assert "training" not in captured.out


def test_save_path_ending_in_a_slash_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["train", "--save", f"{tmp_path}/models/"])
    assert caught.value.code == 2
    assert "which names a folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_save_under_a_file_fails_before_training(data_dir, tmp_path, capsys):
    (tmp_path / "afile").write_text("mine")
    assert cli.main(["train", "--data-dir", str(data_dir), "--save", str(tmp_path / "afile" / "m.npz")]) == 1
    captured = capsys.readouterr()
    assert f"--save: {tmp_path / 'afile'} is a file, not a folder" in captured.err
    assert "training" not in captured.out


def test_failed_save_names_the_given_path_not_a_temporary_file(data_dir, tmp_path, capsys, monkeypatch):
    def disk_full(file, **arrays):
        file.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", disk_full)  # inside the real save_model
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--epochs", "1", "--verbose", "0",
                     "--save", str(tmp_path / "m.npz")]) == 1
    error = capsys.readouterr().err
    assert f"could not save the model to {tmp_path / 'm.npz'}: No space left on device" in error
    assert ".part" not in error and error.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def ctrl_c_during_training(monkeypatch):
    """Ctrl-C at the first optimizer step."""
    from batchnet.optimizers import Adam

    def interrupted(self, layers):
        raise KeyboardInterrupt

    monkeypatch.setattr(Adam, "step", interrupted)


def test_ctrl_c_keeps_an_existing_save_file_and_exits_130(data_dir, tmp_path, capsys, ctrl_c_during_training):
    path = tmp_path / "precious.npz"
    path.write_bytes(b"a finished model")
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--verbose", "0",
                     "--save", str(path)]) == 130
    assert capsys.readouterr().err == (f"batchnet train: training interrupted during epoch 1; nothing was saved "
                                       f"to {path}, as an interrupted run never is\n")
    assert path.read_bytes() == b"a finished model"


def test_ctrl_c_saves_no_new_model_file(data_dir, tmp_path, capsys, ctrl_c_during_training):
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--verbose", "0",
                     "--save", str(tmp_path / "new.npz")]) == 130
    assert "interrupted during epoch 1" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_outside_training_exits_130_without_traceback(saved_model, data_dir, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(datasets, "load_dataset", interrupted)
    assert cli.main(["evaluate", str(saved_model), "--data-dir", str(data_dir)]) == 130
    assert capsys.readouterr().err == "batchnet evaluate: interrupted\n"


def test_train_off_a_terminal_prints_one_line_per_epoch_by_default(data_dir, capsys):
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--epochs", "2"]) == 0
    captured = capsys.readouterr()
    assert "epoch 1/2 " in captured.out and "epoch 2/2 " in captured.out
    assert "\r" not in captured.err and "it/s" not in captured.err


def test_a_model_save_model_refuses_is_one_line(data_dir, tmp_path, capsys, monkeypatch):
    from batchnet.saving import model_file as serialization

    def refused(network, path):
        raise ValueError("save_model: only registered functions can be saved")

    monkeypatch.setattr(serialization, "save_model", refused)
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--epochs", "1", "--verbose", "0",
                     "--save", str(tmp_path / "m.npz")]) == 1
    assert capsys.readouterr().err == (f"batchnet train: could not save the model to {tmp_path / 'm.npz'}: "
                                       "save_model: only registered functions can be saved\n")

