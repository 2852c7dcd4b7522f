"""The training loop (batchnet.training.loop): the train/eval mode layers see, and the step's gradient hook."""

import numpy as np
import pytest

import batchnet.training.parallel as parallel
from batchnet import FCLayer, Layer, NeuralNetwork, TrainingDiverged, mse, mse_prime, one_hot
from batchnet.training.loop import TrainingLoop


def blobs(samples, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, 3)).astype(np.float32), one_hot(rng.integers(0, 2, samples), 2)


class ModeRecorder(Layer):
    """An identity layer that notes, for every batch it sees, the mode it was in and the batch's size."""

    def __init__(self, seen):
        super().__init__()
        self.seen = seen  # shared with the replicas of a sharded run: copies share the list

    def forward(self, input_data):
        self.seen.append((self.training, len(input_data)))
        return input_data

    def backward(self, output_error):
        return output_error


def recorded_net(seen):
    return NeuralNetwork().add(FCLayer(4)).add(ModeRecorder(seen)).add(FCLayer(2)).use(mse, mse_prime)


def test_a_layer_infers_until_a_network_trains_it():
    assert ModeRecorder([]).training is False


def test_fit_trains_in_training_mode_and_validates_in_inference_mode():
    seen = []
    x, y = blobs(32)
    recorded_net(seen).fit(x, y, epochs=2, learning_rate=0.1, batch_size=8, verbose=0,
                           validation_data=blobs(16, seed=1), threads=1)
    epoch = [(True, 8)] * 4 + [(False, 16)]
    assert seen == epoch * 2


def test_predict_and_evaluate_infer_after_fit_and_fit_leaves_the_layers_inferring():
    seen = []
    x, y = blobs(32)
    net = recorded_net(seen).fit(x, y, epochs=1, learning_rate=0.1, batch_size=32, verbose=0, threads=1)
    assert all(layer.training is False for layer in net.layers)
    del seen[:]
    net.predict(x, batch_size=16, threads=1)
    net.evaluate(x, y, batch_size=32, threads=1)
    assert seen == [(False, 16), (False, 16), (False, 32)]


def test_the_layers_stop_training_when_fit_raises():
    seen = []
    x, y = blobs(16)
    net = recorded_net(seen)
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged):
        net.fit(x * 1e6, y, epochs=5, learning_rate=1e9, verbose=0, threads=1)
    assert seen[0] == (True, 16)  # it was training when the loss diverged
    assert net.layers[1].training is False


def test_sharded_batches_see_the_mode_of_their_pass(monkeypatch):
    # every batch worth cutting: shards then run through the layers' replicas
    monkeypatch.setattr(parallel, "MIN_SHARD_ELEMENTS", 1)
    seen = []
    x, y = blobs(32)
    recorded_net(seen).fit(x, y, epochs=2, learning_rate=0.1, batch_size=8, verbose=0,
                           validation_data=blobs(16, seed=1), threads=2)
    training = [size for mode, size in seen if mode]
    inferring = [size for mode, size in seen if not mode]
    assert sum(training) == 2 * 32 and sum(inferring) == 2 * 16
    assert 4 in training and 8 in inferring  # the batches were cut into shards, in both modes


def test_the_optimizer_steps_with_the_gradients_left_by_the_reduction_hook(monkeypatch):
    x, y = blobs(12)
    x, y = x.astype(np.float64), y.astype(np.float64)
    calls = []

    def halve(loop, layers):
        calls.append([layer.weights.copy() for layer in layers])
        for layer in layers:
            layer.gradients = {name: gradient / 2 for name, gradient in layer.gradients.items()}

    def trained(learning_rate):
        net = NeuralNetwork(dtype="float64").add(FCLayer(2)).use(mse, mse_prime)
        return net.fit(x, y, epochs=2, learning_rate=learning_rate, batch_size=4, seed=5, verbose=0).layers[0].weights

    expected = trained(0.05)
    monkeypatch.setattr(TrainingLoop, "_reduce_gradients", halve)
    got = trained(0.1)
    assert len(calls) == 2 * 3  # once per step
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # called before the step: the first call saw the initial weights, the second those after one update
    assert not np.array_equal(calls[0][0], calls[1][0])
