"""Data-parallel shards (batchnet.training.parallel): the same training and predictions as one thread.

Each comparison trains or predicts twice from the same weights, once with
``threads=1`` (no shards) and once with several threads and the shard size
threshold lowered so that the small test networks are cut into shards; a spy
on ``ShardedLayers.run`` proves the shards were used.
"""

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import batchnet.training.parallel as parallel
from batchnet import (
    ActivationLayer, ConvolutionalLayer, FCLayer, FlattenLayer, MaxPoolingLayer, NeuralNetwork,
    one_hot, relu, relu_prime, softmax_cross_entropy, softmax_cross_entropy_prime, tanh, tanh_prime,
)
from batchnet.layers import BatchNormalizationLayer, DropoutLayer
from batchnet.training.parallel import ShardedLayers, default_threads, shard_bounds, shard_count


def small_cnn(dtype="float64"):
    return (
        NeuralNetwork(dtype=dtype)
        .add(ConvolutionalLayer(4, (3, 3), padding=1)).add(ActivationLayer(relu, relu_prime))
        .add(MaxPoolingLayer((2, 2), 2)).add(FlattenLayer())
        .add(FCLayer(8)).add(ActivationLayer(tanh, tanh_prime)).add(FCLayer(3))
        .use(softmax_cross_entropy, softmax_cross_entropy_prime)
    )


def images(samples, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((samples, 8, 8, 2)), one_hot(rng.integers(0, 3, samples), 3)


def parameters(net):
    return [array.copy() for layer in net.layers for array in layer.parameters().values()]


@pytest.fixture
def sharding(monkeypatch):
    """Shard every batch of at least 2 samples; count the sharded passes and the threads that ran them."""
    monkeypatch.setattr(parallel, "MIN_SHARD_ELEMENTS", 1)
    record = {"runs": 0, "pieces": [], "threads": set()}
    run = ShardedLayers.run

    def spied_run(self, function, pieces):
        record["runs"] += 1
        record["pieces"].append([len(piece) for piece in pieces])

        def noting_the_thread(layers, piece):
            record["threads"].add(threading.current_thread().name)
            return function(layers, piece)

        return run(self, noting_the_thread, pieces)

    monkeypatch.setattr(ShardedLayers, "run", spied_run)
    return record


def test_shard_bounds_cover_the_batch_in_near_equal_contiguous_slices():
    for batch_size in range(1, 40):
        for shards in range(1, min(batch_size, 6) + 1):
            bounds = shard_bounds(batch_size, shards)
            assert len(bounds) == shards
            assert bounds[0][0] == 0 and bounds[-1][1] == batch_size
            assert all(stop == start for (_, stop), (start, _) in zip(bounds, bounds[1:]))
            sizes = [stop - start for start, stop in bounds]
            assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1


def test_shard_count_keeps_each_shard_above_the_threshold(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_SHARD_ELEMENTS", 1000)
    assert shard_count(threads=4, batch_size=100, elements_per_sample=100) == 4  # 25 * 100 >= 1000
    assert shard_count(threads=4, batch_size=100, elements_per_sample=20) == 2  # 50 * 20 >= 1000
    assert shard_count(threads=4, batch_size=100, elements_per_sample=5) == 1
    assert shard_count(threads=1, batch_size=100, elements_per_sample=10**6) == 1
    assert shard_count(threads=8, batch_size=3, elements_per_sample=10**6) == 3


def test_default_threads_follow_the_blas_limit():
    with threadpool_limits(1, user_api="blas"):
        assert default_threads() == 1
    assert default_threads() >= 1


@pytest.mark.parametrize("threads", [2, 3])
def test_sharded_training_gives_the_weights_of_unsharded_training(sharding, threads):
    x, y = images(50)
    start = small_cnn()
    start.predict(x[:1])  # draws the weights
    nets = {}
    for count in (1, threads):
        net = small_cnn()
        for layer, original in zip(net.layers, start.layers):
            for name, value in original.parameters().items():
                setattr(layer, name, value.copy())
        # batch 16 leaves a last batch of 2, cut into 2 shards at most
        net.fit(x, y, epochs=2, learning_rate=0.1, batch_size=16, seed=3, verbose=0, threads=count)
        nets[count] = net
    full_batch = [stop - start for start, stop in shard_bounds(16, threads)]
    assert full_batch in sharding["pieces"]  # every full batch: forward, then backward
    assert [1, 1] in sharding["pieces"]  # the last batch of 2 samples
    # the shards other than the first ran on the pool's threads (how many of
    # them depends on how soon each finishes: an idle thread takes the next)
    assert any(name.startswith("batchnet-shard") for name in sharding["threads"])
    for unsharded, sharded in zip(parameters(nets[1]), parameters(nets[threads])):
        np.testing.assert_allclose(sharded, unsharded, rtol=1e-10, atol=1e-12)
    assert nets[threads].history.history["loss"] == pytest.approx(nets[1].history.history["loss"], rel=1e-10)


def test_sharded_prediction_and_evaluation_equal_unsharded(sharding):
    x, y = images(37, seed=1)
    net = small_cnn()
    net.fit(x, y, epochs=1, learning_rate=0.1, batch_size=8, seed=0, verbose=0, threads=1)
    assert sharding["runs"] == 0
    expected = net.predict(x, batch_size=10, threads=1)
    expected_figures = net.evaluate(x, y, batch_size=10, threads=1)
    assert sharding["runs"] == 0
    sharded = net.predict(x, batch_size=10, threads=2)
    assert sharding["runs"] == 4  # every batch: the network knows its output sizes from training
    np.testing.assert_allclose(sharded, expected, rtol=1e-12, atol=1e-14)
    figures = net.evaluate(x, y, batch_size=10, threads=2)
    assert figures == pytest.approx(expected_figures, rel=1e-12)


def test_float32_sharded_training_stays_float32_and_close(sharding):
    x, y = images(32, seed=2)
    x = x.astype(np.float32)
    runs = {}
    for threads in (1, 2):
        net = small_cnn("float32")
        net.fit(x, y, epochs=2, learning_rate=0.1, batch_size=16, seed=5, verbose=0, threads=threads)
        runs[threads] = net
    assert sharding["runs"] > 0
    for unsharded, sharded in zip(parameters(runs[1]), parameters(runs[2])):
        assert sharded.dtype == np.float32
        np.testing.assert_allclose(sharded, unsharded, rtol=1e-4, atol=1e-5)


def test_an_error_in_a_shard_reaches_the_caller(sharding):
    x, y = images(16)
    net = small_cnn()
    net.fit(x, y, epochs=1, learning_rate=0.1, batch_size=16, seed=0, verbose=0, threads=1)

    def broken(layers, piece):
        if threading.current_thread() is not threading.main_thread():
            raise FloatingPointError("shard failed")
        return piece

    with ShardedLayers(net.layers, 2) as sharded:
        with pytest.raises(FloatingPointError, match="shard failed"):
            sharded.run(broken, [x[:8], x[8:]])
        with pytest.raises(ValueError, match="3 pieces for 2 shards"):
            sharded.run(broken, [x[:1], x[1:2], x[2:3]])


def test_a_replica_shares_the_parameters_and_none_of_the_state():
    x, y = images(4)
    net = small_cnn()
    net.fit(x, y, epochs=1, learning_rate=0.1, batch_size=4, seed=0, verbose=0, threads=1)
    conv = net.layers[0]
    net.layers[0].forward_propagation(x)
    replica = conv.replica()
    assert replica.weights is conv.weights and replica.bias is conv.bias
    assert replica.input is None and replica.output is None and replica._columns is None
    assert replica.gradients == {} and replica._buffers == {} and replica._scratch_storage == {}
    assert conv.input is not None and conv._columns is not None  # the original keeps its state
    assert replica.filter_shape == conv.filter_shape and replica.backend is conv.backend


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts_are_refused(threads):
    x, y = images(4)
    net = small_cnn()
    with pytest.raises(ValueError, match=f"threads must be a positive int, got {threads!r}"):
        net.fit(x, y, epochs=1, learning_rate=0.1, threads=threads, verbose=0)
    with pytest.raises(ValueError, match="threads must be a positive int"):
        net.predict(x, threads=threads)


def test_ctrl_c_during_sharded_training_keeps_the_model_and_stops_the_threads(sharding, monkeypatch):
    x, y = images(48)
    net = small_cnn()
    last_layer = net.layers[-1]
    backward = type(last_layer).backward
    calls = {"count": 0}

    def interrupted_in_the_second_epoch(self, error, **keywords):
        # Ctrl-C reaches the main thread, which runs the network's own layers (the first shard)
        if self is last_layer:
            calls["count"] += 1
            if calls["count"] == 3 + 2:  # 3 steps an epoch at batch 16
                raise KeyboardInterrupt
        return backward(self, error, **keywords)

    monkeypatch.setattr(type(last_layer), "backward", interrupted_in_the_second_epoch)
    threads_before = {thread.name for thread in threading.enumerate()}
    net.fit(x, y, epochs=4, learning_rate=0.1, batch_size=16, seed=0, verbose=0, threads=2)
    assert sharding["runs"] > 0
    assert net.history.epoch == [1]
    assert net.history.stopped_early == "interrupted during epoch 2"
    new_threads = {thread.name for thread in threading.enumerate()} - threads_before
    assert not [name for name in new_threads if name.startswith("batchnet-shard")]
    assert np.isfinite(net.predict(x, threads=1)).all()


def test_a_replica_runs_a_batch_without_touching_the_state_of_its_original():
    x, _ = images(6)
    net = small_cnn()
    net.predict(x[:3], threads=1)
    originals = net.layers
    for layer in originals:
        layer.reuse_buffers = True  # as while training: results written into kept buffers
    replicas = [layer.replica() for layer in originals]

    def forward_backward(layers, batch):
        for layer in layers:
            batch = layer.forward_propagation(batch)
        error = np.ones_like(batch)
        for layer in reversed(layers):
            error = layer.backward(error)

    forward_backward(originals, x[:3])
    kept = [{name: getattr(layer, name) for name in layer.batch_state} for layer in originals]
    values = [{name: value.copy() for name, value in state.items() if isinstance(value, np.ndarray)}
              for state in kept]
    gradients = [{name: value.copy() for name, value in layer.gradients.items()} for layer in originals]
    forward_backward(replicas, x[3:])
    for layer, state, state_values, layer_gradients in zip(originals, kept, values, gradients):
        for name, value in state.items():
            assert getattr(layer, name) is value, f"{layer.name}.{name} was replaced"
        for name, value in state_values.items():
            np.testing.assert_array_equal(getattr(layer, name), value, err_msg=f"{layer.name}.{name}")
        for name, value in layer_gradients.items():
            np.testing.assert_array_equal(layer.gradients[name], value, err_msg=f"{layer.name} d{name}")


def test_only_a_new_sample_shape_or_new_layers_run_their_first_batch_unsharded(sharding):
    x, _ = images(20)
    net = (NeuralNetwork(dtype="float64").add(ConvolutionalLayer(3, (3, 3), padding=1))
           .add(ActivationLayer(relu, relu_prime)).add(FlattenLayer()))
    net.predict(x, batch_size=10, threads=2)
    assert sharding["runs"] == 1  # the first batch measured the outputs, the second ran in shards
    net.predict(x[:10], threads=2)
    assert sharding["runs"] == 2  # a later call shards its first (and only) batch
    wider = np.random.default_rng(1).random((10, 10, 12, 2))
    net.predict(wider, threads=2)
    assert sharding["runs"] == 2  # a new sample shape: measured unsharded first
    net.predict(wider, threads=2)
    assert sharding["runs"] == 3
    net.layers[-1] = FlattenLayer()  # another layer: measured again
    net.predict(x[:10], threads=2)
    assert sharding["runs"] == 3
    net.predict(x[:10], threads=2)
    assert sharding["runs"] == 4


@pytest.mark.parametrize("make_layer", [lambda: BatchNormalizationLayer(), lambda: DropoutLayer(0.3)],
                         ids=["batch-norm", "dropout"])
def test_a_layer_that_is_not_shardable_keeps_every_batch_whole(sharding, make_layer):
    x, y = images(40)
    net = small_cnn()
    net.fit(x, y, epochs=2, learning_rate=0.1, batch_size=20, seed=1, verbose=0, threads=2)
    assert sharding["runs"] > 0  # the same net without the layer is sharded
    sharding["runs"] = 0
    net = small_cnn()
    net.layers.insert(1, make_layer())
    net.fit(x, y, epochs=2, learning_rate=0.1, batch_size=20, seed=1, verbose=0, threads=2)
    net.predict(x, batch_size=20, threads=2)
    assert sharding["runs"] == 0
