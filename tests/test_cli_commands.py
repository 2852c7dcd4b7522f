"""The ``batchnet`` command as a whole: argument errors, missing data, ``check``, ``info``, ``--version``."""

import os
import subprocess
import sys

import numpy as np
import pytest

from batchnet import cli
from batchnet.reference.comparison import compare_with_reference


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


def test_version_prints_the_package_version(capsys):
    import batchnet

    with pytest.raises(SystemExit) as caught:
        cli.main(["--version"])
    assert caught.value.code == 0 and capsys.readouterr().out == f"batchnet {batchnet.__version__}\n"


def test_info_prints_what_show_config_prints(capsys):
    from batchnet import show_config

    show_config()
    expected = capsys.readouterr().out
    assert cli.main(["info"]) == 0
    assert capsys.readouterr().out == expected


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

