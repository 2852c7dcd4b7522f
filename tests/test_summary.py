"""NeuralNetwork.summary() (batchnet.summary): the table of layers, output shapes and parameter counts."""

import re

import numpy as np
import pytest

from batchnet import FCLayer, NeuralNetwork, mse, mse_prime, one_hot
from batchnet.models import standard_cnn, tutorial_mlp


def table_rows(text):
    """(layer name, output shape, parameters) of every row of the table."""
    rows = []
    for line in text.splitlines():
        match = re.match(r"\s*\d+\s+(\w+)\(.*?\)\s+(\(N(?:, \d+)+\))\s+([\d,]+)$", line)
        if match:
            rows.append((match[1], match[2], int(match[3].replace(",", ""))))
    return rows


def total(text):
    return int(re.search(r"Total parameters: ([\d,]+)", text)[1].replace(",", ""))


# counted by hand: conv (KH*KW*C_in + 1) * F, dense (in + 1) * out; 28 -> 14 -> 7 through the pools
STANDARD_CNN = [
    ("ConvolutionalLayer", "(N, 28, 28, 32)", (3 * 3 * 1 + 1) * 32),
    ("ActivationLayer", "(N, 28, 28, 32)", 0),
    ("MaxPoolingLayer", "(N, 14, 14, 32)", 0),
    ("ConvolutionalLayer", "(N, 14, 14, 64)", (3 * 3 * 32 + 1) * 64),
    ("ActivationLayer", "(N, 14, 14, 64)", 0),
    ("MaxPoolingLayer", "(N, 7, 7, 64)", 0),
    ("FlattenLayer", "(N, 3136)", 0),
    ("FCLayer", "(N, 128)", (7 * 7 * 64 + 1) * 128),
    ("ActivationLayer", "(N, 128)", 0),
    ("FCLayer", "(N, 10)", (128 + 1) * 10),
]


def test_the_standard_cnn_table_matches_a_hand_count():
    text = standard_cnn().summary(input_shape=(28, 28, 1))
    assert table_rows(text) == STANDARD_CNN
    assert total(text) == sum(count for *_, count in STANDARD_CNN) == 421_642


def test_summary_returns_the_table_and_prints_nothing(capsys):
    text = standard_cnn().summary(input_shape=(28, 28, 1))
    assert isinstance(text, str) and "Total parameters" in text
    assert capsys.readouterr() == ("", "")


def test_summary_builds_no_layer_and_changes_no_later_seeded_fit():
    x = np.random.default_rng(0).random((8, 28, 28, 1)).astype(np.float32)
    y = one_hot(np.arange(8) % 10, 10)
    summarized, plain = tutorial_mlp(), tutorial_mlp()
    summarized.summary(input_shape=(28, 28, 1))
    assert not any(layer.built for layer in summarized.layers) and summarized.sample_shape is None
    for network in (summarized, plain):
        network.fit(x, y, epochs=1, learning_rate=0.1, seed=4, verbose=0)
    np.testing.assert_array_equal(summarized.predict(x), plain.predict(x))


def test_a_network_that_has_run_needs_no_input_shape_and_counts_its_own_parameters():
    x = np.random.default_rng(0).random((6, 5)).astype(np.float32)
    net = NeuralNetwork().add(FCLayer(4)).add(FCLayer(2)).use(mse, mse_prime)
    net.fit(x, np.zeros((6, 2), np.float32), epochs=1, learning_rate=0.1, verbose=0)
    text = net.summary()
    assert table_rows(text) == [("FCLayer", "(N, 4)", 24), ("FCLayer", "(N, 2)", 10)]
    assert total(text) == sum(array.size for layer in net.layers for array in layer.parameters().values())
    assert net.summary(input_shape=(5,)) == text


def test_two_dimensional_images_are_read_as_one_channel_as_fit_reads_them():
    assert standard_cnn().summary(input_shape=(28, 28)) == standard_cnn().summary(input_shape=(28, 28, 1))


def test_before_the_network_has_run_summary_asks_for_an_input_shape():
    with pytest.raises(ValueError, match=r"has not run yet.*summary\(input_shape=\(28, 28, 1\)\)"):
        standard_cnn().summary()


def test_an_input_shape_other_than_the_one_it_ran_on_is_refused():
    net = NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
    net.fit(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32), epochs=1, learning_rate=0.1, verbose=0)
    with pytest.raises(ValueError, match=r"input_shape \(7,\) differs from the samples of shape \(3,\)"):
        net.summary(input_shape=(7,))


@pytest.mark.parametrize("shape", [(28, 0, 1), "28", (28.0, 28), (), 784])
def test_an_input_shape_that_is_no_shape_is_refused(shape):
    with pytest.raises(ValueError, match="input_shape must be the shape of one sample"):
        standard_cnn().summary(input_shape=shape)


def test_a_shape_the_layers_cannot_take_gets_the_layers_own_error():
    net = NeuralNetwork().add(FCLayer(2))
    net.layers[0].weights = np.zeros((3, 2), np.float32)
    net.layers[0].bias = np.zeros(2, np.float32)
    with pytest.raises(ValueError, match=r"FCLayer: expected 3 input features, got input of shape \(1, 5\)"):
        net.summary(input_shape=(5,))
