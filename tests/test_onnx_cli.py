"""``batchnet export``: the command module (batchnet/cli/export.py), run through its own parser."""

import argparse

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from batchnet import models  # noqa: E402
from batchnet.cli import export as export_command  # noqa: E402
from batchnet.cli.app import CommandError  # noqa: E402
from batchnet.saving import save_model  # noqa: E402


def run(*argv):
    parser = argparse.ArgumentParser(prog="batchnet")
    export_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["export", *map(str, argv)])
    return args.run(args)


@pytest.fixture
def saved_model(tmp_path):
    network = models.tutorial_cnn()
    network.predict(np.zeros((1, 28, 28, 1), np.float32))
    save_model(network, tmp_path / "model.npz")
    return network, tmp_path / "model.npz"


def test_export_writes_a_graph_that_predicts_as_the_model(saved_model, tmp_path, capsys):
    network, path = saved_model
    run(path, tmp_path / "model.onnx")
    assert "exported" in capsys.readouterr().out
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], network.predict(x), rtol=1e-5, atol=1e-5)


def test_a_missing_output_folder_is_refused_before_the_model_is_read(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        run(tmp_path / "absent.npz", tmp_path / "no" / "model.onnx")


def test_a_missing_model_is_one_message(tmp_path):
    with pytest.raises(CommandError, match="no model file"):
        run(tmp_path / "absent.npz", tmp_path / "model.onnx")
    assert not list(tmp_path.iterdir())


def test_a_model_never_trained_is_refused_and_nothing_is_written(tmp_path):
    save_model(models.tutorial_mlp(), tmp_path / "fresh.npz")
    with pytest.raises(CommandError, match="has not run yet"):
        run(tmp_path / "fresh.npz", tmp_path / "model.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.npz"]
