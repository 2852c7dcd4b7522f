"""What fit and evaluate show (batchnet.training.progress): bars only on a terminal, evaluate's verbose."""

import io

import numpy as np
import pytest

from batchnet import FCLayer, NeuralNetwork, mse, mse_prime, one_hot
from batchnet.training.progress import EpochProgress, can_draw_bars


class Terminal(io.StringIO):
    def isatty(self):
        return True


def blobs(samples=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, 3)).astype(np.float32), one_hot(rng.integers(0, 2, samples), 2)


def trained(epochs, verbose):
    x, y = blobs()
    return NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime).fit(
        x, y, epochs=epochs, learning_rate=0.1, batch_size=8, verbose=verbose)


def test_verbose_1_into_a_log_writes_one_line_per_epoch_and_no_bars(capsys):
    trained(30, verbose=1)  # pytest's captured stderr is no terminal, as a log file is not
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 30 and "\r" not in out
    assert all(line.startswith(f"epoch {epoch}/30   loss=") for epoch, line in enumerate(lines, start=1))


def test_verbose_1_on_a_terminal_draws_a_bar_per_epoch(capsys, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    trained(2, verbose=1)
    assert capsys.readouterr().out == ""
    drawn = terminal.getvalue()
    assert "epoch 1/2" in drawn and "epoch 2/2" in drawn and "5/5" in drawn and "\r" in drawn


def test_verbose_2_writes_lines_even_on_a_terminal(capsys, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    trained(2, verbose=2)
    assert terminal.getvalue() == ""
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_a_closed_or_plain_stream_draws_no_bars():
    closed = io.StringIO()
    closed.close()
    assert not can_draw_bars(closed) and not can_draw_bars(io.StringIO()) and not can_draw_bars(object())
    assert can_draw_bars(Terminal())
    assert EpochProgress(3, 1, 1, bar=True, stream=io.StringIO()).bar is None


def test_evaluate_is_silent_by_default_and_verbose_prints_its_figures_on_one_line(capsys):
    x, y = blobs()
    net = trained(1, verbose=0)
    figures = net.evaluate(x, y)
    assert capsys.readouterr().out == ""
    for verbose in (1, 2):
        assert net.evaluate(x, y, verbose=verbose) == figures
        assert capsys.readouterr().out == (f"evaluate   loss={figures['loss']:.4f}  "
                                           f"accuracy={figures['accuracy']:.4f}\n")
    assert net.evaluate(x, y, verbose=0) == figures and capsys.readouterr().out == ""


@pytest.mark.parametrize("verbose", [3, -1, True, 1.0, "1", None])
def test_evaluate_refuses_a_verbose_other_than_0_1_2(verbose):
    x, y = blobs()
    net = trained(1, verbose=0)
    with pytest.raises(ValueError, match=rf"NeuralNetwork.evaluate: verbose must be 0, 1 or 2, got {verbose!r}"):
        net.evaluate(x, y, verbose=verbose)
