"""``batchnet train --schedule`` and ``--early-stopping`` on the tiny dataset of cli_data.py."""

import io
import math
from contextlib import redirect_stdout

import pytest

from batchnet import cli
from batchnet.network import NeuralNetwork
from batchnet.training import schedules
from batchnet.training.callbacks import Callback, EarlyStopping
from cli_data import write_tiny_dataset


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny") / "data")


@pytest.fixture
def fits(monkeypatch):
    """The callbacks of every fit the command runs, and the optimizer's rate at each epoch's start."""
    seen = []
    real_fit = NeuralNetwork.fit

    class Rates(Callback):
        def __init__(self):
            self.rates = []

        def on_epoch_begin(self, epoch, logs=None):
            self.rates.append(self.network.optimizer.learning_rate)

    def fit(self, *args, callbacks=None, **options):
        rates = Rates()
        seen.append((list(callbacks), rates))
        return real_fit(self, *args, callbacks=[*callbacks, rates], **options)

    monkeypatch.setattr(NeuralNetwork, "fit", fit)
    return seen


def train(data_dir, *options):
    return cli.main(["train", "--data-dir", str(data_dir), "--model", "mlp", "--verbose", "2", "--limit", "96",
                     "--batch-size", "16", *options])


@pytest.mark.parametrize("schedule, kind, rates", [
    ("step", schedules.StepDecay, [0.01 * 0.1 ** (t // 2) for t in range(6)]),  # epochs // 3 = 2
    ("exponential", schedules.ExponentialDecay, [0.01 * 0.9 ** t for t in range(6)]),
    ("cosine", schedules.CosineAnnealing, [0.005 * (1 + math.cos(math.pi * t / 6)) for t in range(6)]),
])
def test_schedule_sets_each_epochs_rate_from_lr_as_help_says(data_dir, capsys, fits, schedule, kind, rates):
    assert train(data_dir, "--epochs", "6", "--lr", "0.01", "--schedule", schedule) == 0
    (callbacks, recorded), = fits
    assert [type(callback) for callback in callbacks] == [kind]
    assert recorded.rates == pytest.approx(rates, rel=1e-12)
    assert f"{schedule} schedule" in capsys.readouterr().out


def test_plateau_watches_val_loss_with_a_validation_split_else_loss(data_dir, capsys, fits):
    assert train(data_dir, "--epochs", "1", "--schedule", "plateau", "--validation-split", "0.25") == 0
    assert train(data_dir, "--epochs", "1", "--schedule", "plateau") == 0
    monitors = [callbacks[0].monitor.name for callbacks, _ in fits]
    assert monitors == ["val_loss", "loss"]
    assert all(callbacks[0].patience == 5 and callbacks[0].factor == 0.1 for callbacks, _ in fits)


def test_no_schedule_by_default_keeps_the_rate(data_dir, capsys, fits):
    assert train(data_dir, "--epochs", "3", "--lr", "0.02") == 0
    (callbacks, recorded), = fits
    assert callbacks == [] and recorded.rates == [0.02, 0.02, 0.02]


def test_early_stopping_stops_keeps_the_best_epoch_and_says_so(data_dir, capsys, fits):
    # a rate this high makes val_loss rise soon: training stops well before 40 epochs
    assert train(data_dir, "--epochs", "40", "--lr", "0.5", "--optimizer", "sgd", "--validation-split", "0.25",
                 "--early-stopping", "1") == 0
    (callbacks, _), = fits
    stopping, = callbacks
    assert isinstance(stopping, EarlyStopping) and stopping.restore_best and stopping.patience == 1
    out = capsys.readouterr().out
    assert "early stopping (patience 1)" in out
    assert stopping.stopped_epoch is not None and stopping.stopped_epoch < 40
    assert (f"stopped after epoch {stopping.stopped_epoch} and kept the weights of epoch {stopping.best_epoch}"
            in out)
    assert "test accuracy: " in out  # an early stop is a finished run, not an interruption


def test_early_stopping_with_save_saves_the_restored_model(data_dir, tmp_path, capsys):
    path = tmp_path / "model.npz"
    assert train(data_dir, "--epochs", "40", "--lr", "0.5", "--optimizer", "sgd", "--validation-split", "0.25",
                 "--early-stopping", "0", "--save", str(path)) == 0
    assert f"saved the model to {path}" in capsys.readouterr().out and path.exists()


@pytest.mark.parametrize("options", [["--early-stopping", "2"], ["--early-stopping", "2", "--validation-split", "0"]])
def test_early_stopping_without_a_validation_split_is_a_usage_error(options, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["train", *options])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "usage: batchnet train" in err and "--early-stopping needs --validation-split > 0" in err


@pytest.mark.parametrize("options", [["--schedule", "linear"], ["--early-stopping", "-1"],
                                     ["--early-stopping", "two"]])
def test_bad_control_values_exit_2_with_argparse_message(options, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["train", *options])
    assert caught.value.code == 2
    assert "usage: batchnet" in capsys.readouterr().err


def test_help_states_the_defaults():
    buffer = io.StringIO()
    with redirect_stdout(buffer), pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    help_text = " ".join(buffer.getvalue().split())
    for said in ("x0.1 every max(1, epochs // 3) epochs", "x0.9 each epoch", "down to 0 over --epochs",
                 "x0.1 after 5 epochs without a better val_loss", "default none",
                 "needs --validation-split > 0"):
        assert said in help_text
