"""The ``batchnet`` command on tiny data: a few hundred images written by the test, one epoch."""

import errno
import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from batchnet import cli
from batchnet.data import mnist as datasets
from batchnet.data import sources
from batchnet.reference.comparison import compare_with_reference
from batchnet.saving.model_file import load_model


def write_tiny_dataset(folder, train=240, test=60, seed=0):
    """Four IDX files of learnable 28x28 images: class k has a bright square at position k."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)

    def images_for(labels):
        images = rng.integers(0, 60, (len(labels), 28, 28))
        for index, label in enumerate(labels):
            row, column = divmod(int(label), 5)
            images[index, 2 + 12 * row:10 + 12 * row, 1 + 5 * column:5 + 5 * column] = 255
        return images

    for prefix, count in (("train", train), ("t10k", test)):
        labels = rng.integers(0, 10, count)
        for kind, array in (("images-idx3", images_for(labels)), ("labels-idx1", labels)):
            array = np.asarray(array, dtype=np.uint8)
            header = (0x0800 + array.ndim).to_bytes(4, "big") + b"".join(
                size.to_bytes(4, "big") for size in array.shape)
            (folder / f"{prefix}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + array.tobytes()))
    return folder


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny") / "data")


@pytest.fixture(scope="module")
def saved_model(data_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tutorial-cnn.npz"
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", "tutorial-cnn", "--epochs", "1",
                     "--batch-size", "32", "--verbose", "0", "--save", str(path)]) == 0
    return path


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No data anywhere and no network."""
    monkeypatch.delenv("BATCHNET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name, spec in datasets.DATASETS.items():
        monkeypatch.setitem(datasets.DATASETS, name, datasets.DatasetSpec(
            spec.name, spec.mirrors, spec.sha256, (), spec.apt_package))

    def no_network(url, timeout=None):
        raise OSError("network unreachable (test)")

    monkeypatch.setattr(sources, "urlopen", no_network)


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


def test_evaluate_matches_the_accuracy_printed_by_train(data_dir, tmp_path, capsys):
    path = tmp_path / "model.npz"
    cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--epochs", "1", "--verbose", "0",
              "--save", str(path)])
    trained = capsys.readouterr().out.split("test accuracy: ")[1].split()[0]
    cli.main(["evaluate", str(path), "--data-dir", str(data_dir)])
    assert capsys.readouterr().out.split("test accuracy: ")[1].split()[0] == trained


def test_predict_test_set_to_npy(saved_model, data_dir, tmp_path, capsys):
    output = tmp_path / "predictions.npy"
    assert cli.main(["predict", str(saved_model), "--data-dir", str(data_dir), "--output", str(output)]) == 0
    predictions = np.load(output)
    assert predictions.shape == (60,) and predictions.dtype.kind == "i"
    assert set(predictions.tolist()) <= set(range(10))
    assert "accuracy: " in capsys.readouterr().out


def test_predict_input_file_of_uint8_images_prints_one_class_per_line(saved_model, data_dir, tmp_path, capsys):
    (x_train, _), _ = datasets.load_mnist(data_dir)
    np.save(tmp_path / "images.npy", x_train[:5])
    assert cli.main(["predict", str(saved_model), "--input", str(tmp_path / "images.npy")]) == 0
    lines = capsys.readouterr().out.split()
    model = load_model(saved_model)
    expected = model.predict(x_train[:5, ..., None].astype(np.float32) / 255).argmax(axis=1)
    assert lines == [str(label) for label in expected]


def test_predict_rejects_images_of_the_wrong_size(saved_model, tmp_path, capsys):
    np.save(tmp_path / "small.npy", np.zeros((2, 10, 10), dtype=np.uint8))
    assert cli.main(["predict", str(saved_model), "--input", str(tmp_path / "small.npy")]) == 1
    assert "the model cannot take these inputs" in capsys.readouterr().err


def test_predict_refuses_pickled_input(saved_model, tmp_path, capsys):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert cli.main(["predict", str(saved_model), "--input", str(tmp_path / "objects.npy")]) == 1
    assert "not a readable .npy array" in capsys.readouterr().err


def test_evaluate_missing_model_file_exits_1(tmp_path, capsys):
    assert cli.main(["evaluate", str(tmp_path / "absent.npz")]) == 1
    assert "no model file at" in capsys.readouterr().err


def test_evaluate_corrupt_model_exits_1_without_traceback(tmp_path, capsys):
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    assert cli.main(["evaluate", str(tmp_path / "bad.npz")]) == 1
    error = capsys.readouterr().err
    assert "not a readable batchnet model file" in error and "Traceback" not in error


def test_missing_data_exits_1_with_instructions(offline, tmp_path, capsys):
    (tmp_path / "none").mkdir()  # an empty folder: a missing one is refused before any search
    assert cli.main(["train", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path / "none")]) == 1
    error = capsys.readouterr().err
    assert "apt-get install dataset-fashion-mnist" in error and "BATCHNET_DATA" in error
    assert "Traceback" not in error


@pytest.mark.parametrize("arguments", [
    ["train", "--epochs", "-1"],
    ["train", "--lr", "0"],
    ["train", "--lr", "fast"],
    ["train", "--batch-size", "0"],
    ["train", "--model", "resnet"],
    ["train", "--dataset", "cifar10"],
    ["train", "--optimizer", "rmsprop"],
    ["train", "--validation-split", "1"],
    ["train", "--dtype", "float16"],
    ["predict", "model.npz", "--dataset", "mnist", "--input", "x.npy"],
    ["predict", "model.npz", "--output", "out/"],
    ["train", "--save", "models/"],
    ["predict", "model.npz", "--output", "."],
    ["predict", "model.npz", "--output", ""],
    ["train", "--save", ".."],
    ["train", "--plot", ""],
    ["evaluate"],
    ["fly"],
])
def test_bad_arguments_exit_2_with_argparse_message(arguments, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(arguments)
    assert caught.value.code == 2
    assert "usage: batchnet" in capsys.readouterr().err


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


def test_check_compares_every_layer_with_the_reference(capsys):
    assert cli.main(["check"]) == 0
    output = capsys.readouterr().out
    for layer in ("FCLayer", "FlattenLayer", "ActivationLayer(tanh)", "ActivationLayer(softmax)",
                  "ConvolutionalLayer", "MaxPoolingLayer", "AveragePoolingLayer"):
        assert layer in output
    assert "MISMATCH" not in output and "all layers agree" in output


def test_check_reports_a_mismatch(capsys, monkeypatch):
    import batchnet

    original = batchnet.FCLayer.forward
    monkeypatch.setattr(batchnet.FCLayer, "forward", lambda self, x: original(self, x) * 1.001)
    assert cli.main(["check"]) == 1
    captured = capsys.readouterr()
    assert "FCLayer(7)" in captured.out and "MISMATCH" in captured.out
    assert "1 layer(s) differ" in captured.err


def test_compare_with_reference_measures_the_largest_difference():
    import batchnet
    from backends import get_backend
    from batchnet import reference

    batched, per_sample = batchnet.FCLayer(3), reference.FCLayer(3)
    rng = np.random.default_rng(0)
    assert compare_with_reference(batched, per_sample, (5,), get_backend("numpy"), "float64", rng) < 1e-12
    original_forward = per_sample.forward
    per_sample.forward = lambda x: original_forward(x) + 0.25
    assert compare_with_reference(batchnet.FCLayer(3), per_sample, (5,), get_backend("numpy"), "float64",
                                  rng) == pytest.approx(0.25)


def test_info_prints_backends_and_blas(capsys):
    assert cli.main(["info"]) == 0
    output = capsys.readouterr().out
    assert "numpy" in output and "cupy" in output and "blas" in output


def test_python_dash_m_batchnet_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "batchnet", "train", "--epochs", "x"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "usage: batchnet" in result.stderr


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


def save_model_for_ten_features(path):
    """A saved model whose input is 10 features, not a 28x28 image."""
    from batchnet import FCLayer, NeuralNetwork, mse, mse_prime, save_model

    network = NeuralNetwork().add(FCLayer(10)).use(mse, mse_prime)
    network.predict(np.zeros((1, 10), dtype=np.float32))
    save_model(network, path)
    return path


def test_evaluate_a_model_that_does_not_fit_the_images_exits_1_with_one_line(data_dir, tmp_path, capsys):
    path = save_model_for_ten_features(tmp_path / "ten.npz")
    assert cli.main(["evaluate", str(path), "--data-dir", str(data_dir)]) == 1
    error = capsys.readouterr().err
    assert error == ("batchnet evaluate: the model cannot take these inputs: expected images (N, 10) like the "
                     "model's input, got (60, 28, 28, 1) from the mnist test set\n")


def test_evaluate_a_model_with_three_outputs_exits_1_with_one_line(data_dir, tmp_path, capsys):
    from batchnet import FCLayer, FlattenLayer, NeuralNetwork, mse, mse_prime, save_model

    network = NeuralNetwork().add(FlattenLayer()).add(FCLayer(3)).use(mse, mse_prime)
    network.predict(np.zeros((1, 28, 28, 1), dtype=np.float32))
    save_model(network, tmp_path / "three.npz")
    assert cli.main(["evaluate", str(tmp_path / "three.npz"), "--data-dir", str(data_dir)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("batchnet evaluate: the model does not fit the mnist test set: mse: expected targets")
    assert error.count("\n") == 1


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


@pytest.mark.parametrize("pixels, shown", [(255.0, "[0, 255]"), (-0.5, "[-0.5, 0]")])
def test_predict_refuses_float_images_outside_0_1(saved_model, tmp_path, capsys, pixels, shown):
    images = np.zeros((3, 28, 28), dtype=np.float32)
    images[0, 0, 0] = pixels
    np.save(tmp_path / "images.npy", images)
    assert cli.main(["predict", str(saved_model), "--input", str(tmp_path / "images.npy")]) == 1
    error = capsys.readouterr().err
    assert "float pixels must be in [0, 1] (or give uint8 pixels 0..255)" in error
    assert f"got values in {shown}" in error


def test_predict_takes_float_images_in_0_1_like_the_same_uint8_images(saved_model, data_dir, tmp_path, capsys):
    (x_train, _), _ = datasets.load_mnist(data_dir)
    np.save(tmp_path / "uint8.npy", x_train[:5])
    np.save(tmp_path / "floats.npy", x_train[:5] / 255.0)
    assert cli.main(["predict", str(saved_model), "--input", str(tmp_path / "uint8.npy")]) == 0
    from_uint8 = capsys.readouterr().out
    assert cli.main(["predict", str(saved_model), "--input", str(tmp_path / "floats.npy")]) == 0
    assert capsys.readouterr().out == from_uint8


def test_predict_refuses_an_npz_input_saying_a_npy_array_is_expected(saved_model, tmp_path, capsys):
    np.savez(tmp_path / "images.npz", x=np.zeros((2, 28, 28), dtype=np.uint8))
    assert cli.main(["predict", str(saved_model), "--input", str(tmp_path / "images.npz")]) == 1
    error = capsys.readouterr().err
    assert "expected a .npy array" in error and "got a .npz archive" in error and "Traceback" not in error


def test_predict_refuses_a_text_input_without_suggesting_pickles(saved_model, tmp_path, capsys):
    (tmp_path / "images.txt").write_text("0 0 0\n1 1 1\n")
    assert cli.main(["predict", str(saved_model), "--input", str(tmp_path / "images.txt")]) == 1
    error = capsys.readouterr().err
    assert "expected a .npy array" in error and "pickle" not in error


@pytest.mark.parametrize("shape", [(5, 32, 32), (10, 784), (5, 28, 28, 3)])
def test_predict_wrong_image_shape_is_said_about_the_images(saved_model, tmp_path, capsys, shape):
    np.save(tmp_path / "images.npy", np.zeros(shape, dtype=np.uint8))
    assert cli.main(["predict", str(saved_model), "--input", str(tmp_path / "images.npy")]) == 1
    error = capsys.readouterr().err
    assert (f"expected images (N, 28, 28) or (N, 28, 28, 1) like the model's input, got {shape}" in error)


@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 1), (2, 28, 28, 1)])
def test_predict_takes_one_image_or_images_with_their_channel_axis(saved_model, tmp_path, capsys, shape):
    np.save(tmp_path / "images.npy", np.zeros(shape, dtype=np.uint8))
    assert cli.main(["predict", str(saved_model), "--input", str(tmp_path / "images.npy")]) == 0
    assert len(capsys.readouterr().out.split()) == (2 if len(shape) == 4 else 1)


def test_predict_output_without_npy_prints_the_file_np_save_wrote(saved_model, data_dir, tmp_path, capsys):
    assert cli.main(["predict", str(saved_model), "--data-dir", str(data_dir),
                     "--output", str(tmp_path / "classes")]) == 0
    assert f"predicted classes to {tmp_path / 'classes.npy'}\n" in capsys.readouterr().out
    assert [path.name for path in tmp_path.iterdir()] == ["classes.npy"]


def test_predict_output_into_a_missing_folder_fails_before_the_model_is_read(tmp_path, capsys):
    assert cli.main(["predict", str(tmp_path / "absent.npz"), "--output", str(tmp_path / "no" / "c.npy")]) == 1
    error = capsys.readouterr().err
    assert f"--output: the folder {tmp_path / 'no'} does not exist" in error and "no model file" not in error


def test_predict_output_onto_a_folder_is_refused(saved_model, tmp_path, capsys):
    assert cli.main(["predict", str(saved_model), "--output", str(tmp_path)]) == 1
    assert f"--output: {tmp_path} is a folder; expected a file name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_predict_output_that_fails_to_write_keeps_the_old_file_and_leaves_nothing(saved_model, data_dir, tmp_path,
                                                                                   capsys, monkeypatch):
    output = tmp_path / "classes.npy"
    output.write_bytes(b"old")

    def disk_full(file, array):
        file.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", disk_full)
    assert cli.main(["predict", str(saved_model), "--data-dir", str(data_dir), "--output", str(output)]) == 1
    assert f"could not write {output}: No space left on device" in capsys.readouterr().err
    assert output.read_bytes() == b"old" and [path.name for path in tmp_path.iterdir()] == ["classes.npy"]


def test_predict_output_gets_the_usual_file_permissions(saved_model, data_dir, tmp_path):
    import stat

    umask = os.umask(0o022)
    try:
        assert cli.main(["predict", str(saved_model), "--data-dir", str(data_dir),
                         "--output", str(tmp_path / "c.npy")]) == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "c.npy").stat().st_mode) == 0o644


def test_predict_output_over_a_file_keeps_its_permissions(saved_model, data_dir, tmp_path):
    import stat

    output = tmp_path / "c.npy"
    output.write_bytes(b"old")
    output.chmod(0o604)
    assert cli.main(["predict", str(saved_model), "--data-dir", str(data_dir), "--output", str(output)]) == 0
    assert stat.S_IMODE(output.stat().st_mode) == 0o604 and np.load(output).shape == (60,)


def test_predict_output_under_a_file_fails_before_the_model_is_read(tmp_path, capsys):
    (tmp_path / "afile").write_text("mine")
    assert cli.main(["predict", str(tmp_path / "absent.npz"), "--output", str(tmp_path / "afile" / "c.npy")]) == 1
    assert capsys.readouterr().err == f"batchnet predict: --output: {tmp_path / 'afile'} is a file, not a folder\n"


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


@pytest.mark.parametrize("command", ["train", "check"])
def test_negative_seed_is_a_usage_error_naming_what_is_expected(command, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main([command, "--seed", "-1"])
    assert caught.value.code == 2
    assert "argument --seed: expected a non-negative integer, got -1" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["train"], ["check"], ["predict", "MODEL"], ["evaluate", "MODEL"]])
def test_bad_backend_variable_is_a_usage_error_naming_it(saved_model, command, capsys, monkeypatch):
    monkeypatch.setenv("BATCHNET_BACKEND", "bogus")
    arguments = [str(saved_model) if argument == "MODEL" else argument for argument in command]
    assert cli.main(arguments) == 2
    error = capsys.readouterr().err
    assert error == f"batchnet {command[0]}: $BATCHNET_BACKEND: expected numpy, cupy or auto, got 'bogus'\n"


def test_info_reports_the_backend_variable(capsys, monkeypatch):
    monkeypatch.delenv("BATCHNET_BACKEND", raising=False)
    assert cli.main(["info"]) == 0
    assert "default: numpy ($BATCHNET_BACKEND is not set)" in capsys.readouterr().out
    monkeypatch.setenv("BATCHNET_BACKEND", "bogus")
    assert cli.main(["info"]) == 0
    assert "default: none: $BATCHNET_BACKEND: expected numpy, cupy or auto, got 'bogus'" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["train"], ["evaluate", "MODEL"], ["predict", "MODEL"]])
def test_missing_data_dir_is_an_error_naming_it_even_when_data_is_elsewhere(saved_model, data_dir, tmp_path,
                                                                            capsys, monkeypatch, command):
    monkeypatch.setenv("BATCHNET_DATA", str(data_dir))
    arguments = [str(saved_model) if argument == "MODEL" else argument for argument in command]
    assert cli.main([*arguments, "--data-dir", str(tmp_path / "typo")]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"batchnet {command[0]}: --data-dir: {tmp_path / 'typo'} does not exist\n"
    assert "training" not in captured.out


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


@pytest.mark.parametrize("command, method", [("evaluate", "evaluate"), ("predict", "predict")])
def test_evaluate_and_predict_take_threads(saved_model, data_dir, capsys, monkeypatch, command, method):
    from batchnet import NeuralNetwork

    original, threads_used = getattr(NeuralNetwork, method), []

    def spy(self, *args, threads=None, **kwargs):
        threads_used.append(threads)
        return original(self, *args, threads=threads, **kwargs)

    monkeypatch.setattr(NeuralNetwork, method, spy)
    assert cli.main([command, str(saved_model), "--data-dir", str(data_dir), "--threads", "1"]) == 0
    assert threads_used[-1] == 1


def test_version_prints_the_package_version(capsys):
    import batchnet

    with pytest.raises(SystemExit) as caught:
        cli.main(["--version"])
    assert caught.value.code == 0 and capsys.readouterr().out == f"batchnet {batchnet.__version__}\n"


def test_train_off_a_terminal_prints_one_line_per_epoch_by_default(data_dir, capsys):
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--epochs", "2"]) == 0
    captured = capsys.readouterr()
    assert "epoch 1/2 " in captured.out and "epoch 2/2 " in captured.out
    assert "\r" not in captured.err and "it/s" not in captured.err


def test_info_prints_what_show_config_prints(capsys):
    from batchnet import show_config

    show_config()
    expected = capsys.readouterr().out
    assert cli.main(["info"]) == 0
    assert capsys.readouterr().out == expected


def test_a_model_save_model_refuses_is_one_line(data_dir, tmp_path, capsys, monkeypatch):
    from batchnet.saving import model_file as serialization

    def refused(network, path):
        raise ValueError("save_model: only registered functions can be saved")

    monkeypatch.setattr(serialization, "save_model", refused)
    assert cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--epochs", "1", "--verbose", "0",
                     "--save", str(tmp_path / "m.npz")]) == 1
    assert capsys.readouterr().err == (f"batchnet train: could not save the model to {tmp_path / 'm.npz'}: "
                                       "save_model: only registered functions can be saved\n")


def test_a_reader_that_goes_away_ends_the_command_quietly(monkeypatch):
    # as in `batchnet check | head -1`: the pipe's reader has gone when the command writes
    reader, writer = os.pipe()
    os.close(reader)
    stdout = os.fdopen(writer, "w", buffering=1)
    monkeypatch.setattr(sys, "stdout", stdout)
    try:
        assert cli.main(["check", "--seed", "0"]) == 1
    finally:
        stdout.close()


def test_evaluate_and_predict_need_only_the_test_files(saved_model, data_dir, tmp_path, capsys):
    test_only = tmp_path / "test-only"
    test_only.mkdir()
    for path in data_dir.iterdir():
        if path.name.startswith("t10k"):
            (test_only / path.name).write_bytes(path.read_bytes())
    assert cli.main(["evaluate", str(saved_model), "--data-dir", str(test_only)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert cli.main(["predict", str(saved_model), "--data-dir", str(test_only),
                     "--output", str(tmp_path / "classes.npy")]) == 0
    assert (tmp_path / "classes.npy").is_file()
