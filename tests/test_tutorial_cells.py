"""The tutorial's network cells, run verbatim on real MNIST with only their imports changed.

The cells are In [32] (the FC net), In [34] (the FC net with a softmax layer) and
In [40] (the CNN) of the seed notebook. The data are prepared as the tutorial's
text says (and its code forgot): pixels scaled by 1/255 and one-hot labels.
"""

from pathlib import Path

import numpy as np
import pytest

import batchnet
from batchnet.data.mnist import load_mnist

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"

IMPORTS = (
    "from batchnet import (NeuralNetwork, FCLayer, ActivationLayer, ConvolutionalLayer, "
    "MaxPoolingLayer, FlattenLayer, tanh, tanh_prime, softmax, softmax_prime, mse, mse_prime)\n"
)

CELL_32 = """
fc_net = NeuralNetwork()

(fc_net
  .add(FCLayer(100))
  .add(ActivationLayer(tanh, tanh_prime))
  .add(FCLayer(50))
  .add(ActivationLayer(tanh, tanh_prime))
  .add(FCLayer(10))
  .add(ActivationLayer(tanh, tanh_prime))
  .use(mse, mse_prime)
  .fit(x_train[0:4000], y_train[0:4000], epochs=30, learning_rate=0.1)
)

preds = fc_net.predict(x_test[:100])
"""

CELL_34 = """
fc_net = NeuralNetwork()

(fc_net
  .add(FCLayer(100))
  .add(ActivationLayer(tanh, tanh_prime))
  .add(FCLayer(50))
  .add(ActivationLayer(tanh, tanh_prime))
  .add(FCLayer(10))
  .add(ActivationLayer(tanh, tanh_prime))
  .add(ActivationLayer(softmax, softmax_prime))
  .use(mse, mse_prime)
  .fit(x_train[0:1000], y_train[0:1000], epochs=50, learning_rate=0.01)
)

preds = fc_net.predict(x_test[:100])
"""

CELL_40 = """
conv_net = NeuralNetwork()

(conv_net
  .add(ConvolutionalLayer(filter_shape=(3, 3), filters_count=5, stride=2, padding=(1,1)))
  .add(ActivationLayer(tanh, tanh_prime))
  .add(MaxPoolingLayer(pool_shape=(2, 2)))
  .add(FlattenLayer())
  .add(FCLayer(100))
  .add(ActivationLayer(tanh, tanh_prime))
  .add(FCLayer(50))
  .add(ActivationLayer(tanh, tanh_prime))
  .add(FCLayer(10))
  .add(FlattenLayer())
  .add(ActivationLayer(tanh, tanh_prime))
  .add(ActivationLayer(softmax, softmax_prime))
  .use(mse, mse_prime)
  .fit(x_train[0:4000], y_train[0:4000], epochs=30, learning_rate=0.1)
)

conv_preds = conv_net.predict(x_test[:100])
"""

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def mnist():
    """The notebook's variables after the data preparation its text describes."""
    if not MNIST_DIR.is_dir():
        pytest.skip(f"real MNIST not found in {MNIST_DIR} (the data tests need the shared data folder)")
    (x_train, y_train), (x_test, y_test) = load_mnist(MNIST_DIR, download=False)
    return {
        "x_train": x_train / 255.0,
        "y_train": batchnet.one_hot(y_train, 10),
        "x_test": x_test / 255.0,
        "y_test": y_test,
    }


def run_cell(cell, mnist):
    # the cells pass no seed: fix the library's seed source, as a notebook's
    # first cell would, so the asserted accuracy is one repeatable run
    batchnet.set_seed(0)
    namespace = dict(mnist)
    try:
        exec(IMPORTS + cell, namespace)
    finally:
        batchnet.set_seed(None)
    return namespace


def accuracy(net, mnist):
    return float(np.mean(net.predict(mnist["x_test"]).argmax(axis=1) == mnist["y_test"]))


def test_cell_32_fc_net_reaches_85_percent_on_the_test_set(mnist):
    cell = run_cell(CELL_32, mnist)
    assert cell["preds"].shape == (100, 10)
    assert accuracy(cell["fc_net"], mnist) >= 0.85


def test_cell_34_fc_softmax_net_learns(mnist):
    cell = run_cell(CELL_34, mnist)
    net = cell["fc_net"]
    losses = net.history.history["loss"]
    assert losses[-1] < losses[0]
    # softmax on tanh outputs cannot reach a one-hot target (SEED_NOTES B8): it learns slowly
    assert accuracy(net, mnist) > 0.25


def test_cell_40_cnn_reaches_80_percent_on_the_test_set(mnist):
    cell = run_cell(CELL_40, mnist)
    assert cell["conv_preds"].shape == (100, 10)
    assert accuracy(cell["conv_net"], mnist) >= 0.80
