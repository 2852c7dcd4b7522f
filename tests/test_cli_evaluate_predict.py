"""``batchnet evaluate`` and ``batchnet predict`` on a model trained on tiny data: inputs, outputs, refusals."""

import os

import numpy as np
import pytest

from batchnet import cli
from batchnet.data import mnist as datasets
from batchnet.saving.model_file import load_model


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

