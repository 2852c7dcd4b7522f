"""``batchnet export``: a saved model as an ONNX graph, run through the command line's main()."""

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from batchnet import models  # noqa: E402
from batchnet.cli import main  # noqa: E402
from batchnet.saving import save_model  # noqa: E402


def run(*argv):
    return main(["export", *map(str, argv)])


def refused(capsys, *argv):
    """The one-line message of an export that exits with status 1."""
    assert run(*argv) == 1
    return capsys.readouterr().err


@pytest.fixture
def saved_model(tmp_path):
    network = models.tutorial_cnn()
    network.predict(np.zeros((1, 28, 28, 1), np.float32))
    save_model(network, tmp_path / "model.npz")
    return network, tmp_path / "model.npz"


def test_export_writes_a_graph_that_predicts_as_the_model(saved_model, tmp_path, capsys):
    network, path = saved_model
    assert run(path, tmp_path / "model.onnx") == 0
    assert "exported" in capsys.readouterr().out
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], network.predict(x), rtol=1e-5, atol=1e-5)


def test_a_missing_output_folder_is_refused_before_the_model_is_read(tmp_path, capsys):
    assert "does not exist" in refused(capsys, tmp_path / "absent.npz", tmp_path / "no" / "model.onnx")


def test_a_missing_model_is_one_message(tmp_path, capsys):
    assert "no model file" in refused(capsys, tmp_path / "absent.npz", tmp_path / "model.onnx")
    assert not list(tmp_path.iterdir())


def test_a_model_never_trained_is_refused_and_nothing_is_written(tmp_path, capsys):
    save_model(models.tutorial_mlp(), tmp_path / "fresh.npz")
    assert "has not run yet" in refused(capsys, tmp_path / "fresh.npz", tmp_path / "model.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.npz"]
