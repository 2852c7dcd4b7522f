"""What crosses between host and device while a network trains on the GPU backend.

The issue asks that a training step copy nothing between host and device and
never wait for the device: a batch goes up once, results come back when asked
for. On a pretend GPU as strict as CuPy (``strict_device.py``: CupyBackend's
code over arrays that refuse to mix with host arrays and count every host read
of a value), every layer, loss and optimizer is trained here and the syncs and
copies counted. On a real GPU, ``test_cupy_backend.py`` checks a step with
CuPy's own detector.
"""

import io

import numpy as np
import pytest

from batchnet import (Adam, ActivationLayer, AveragePoolingLayer, ConvolutionalLayer, FCLayer,
                      FlattenLayer, MaxPoolingLayer, NeuralNetwork, SGD, mse, mse_prime, one_hot,
                      relu, relu_prime, sigmoid, sigmoid_prime, softmax, softmax_cross_entropy,
                      softmax_cross_entropy_prime, softmax_prime, tanh, tanh_prime)
from batchnet.training.progress import LOSS_REFRESH_STEPS
from strict_device import DeviceArray


@pytest.fixture
def device(strict_device):
    strict_device.events.clear()
    return strict_device


def every_layer(backend, dtype="float64"):
    """Every layer kind and activation, ending in softmax with MSE."""
    network = NeuralNetwork(backend=backend, dtype=dtype)
    for layer in (ConvolutionalLayer(4, (3, 3), padding=1, stride=2), ActivationLayer(sigmoid, sigmoid_prime),
                  AveragePoolingLayer((2, 2), stride=1), ConvolutionalLayer(6, (2, 2)),
                  ActivationLayer(relu, relu_prime), MaxPoolingLayer((2, 2), stride=2), FlattenLayer(),
                  FCLayer(12), ActivationLayer(tanh, tanh_prime), FCLayer(10),
                  ActivationLayer(softmax, softmax_prime)):
        network.add(layer)
    return network.use(mse, mse_prime)


def logits_network(backend, dtype="float64"):
    """Convolution to logits, with the fused softmax cross-entropy."""
    network = NeuralNetwork(backend=backend, dtype=dtype)
    for layer in (ConvolutionalLayer(3, (3, 3)), ActivationLayer(relu, relu_prime), MaxPoolingLayer((2, 2)),
                  FlattenLayer(), FCLayer(10)):
        network.add(layer)
    return network.use(softmax_cross_entropy, softmax_cross_entropy_prime)


NETWORKS = {"every layer": every_layer, "logits": logits_network}
OPTIMIZERS = {
    "sgd": lambda: SGD(0.05),
    "nesterov, decay": lambda: SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam, decay": lambda: Adam(0.01, weight_decay=1e-3),
}


def data(samples=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((samples, 12, 12, 1)), one_hot(rng.integers(0, 10, samples), 10)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("network", NETWORKS)
def test_fit_never_waits_for_the_device_and_copies_once_per_epoch(device, network, optimizer):
    x, y = data()
    model = NETWORKS[network](device)
    model.fit(x[:8], y[:8], epochs=1, learning_rate=0.05, batch_size=8, verbose=0)  # builds, uploads weights
    device.events.clear()
    epochs = 2
    # 32 trained on in 8 steps of 4, 8 held out
    model.fit(x, y, epochs=epochs, batch_size=4, validation_split=0.2, optimizer=OPTIMIZERS[optimizer](), verbose=0)
    assert device.events == {"upload": 2 + 2 + epochs,  # x and y, validation x and y, each epoch's order
                             "download": 2 * epochs}    # each epoch's metrics and validation's; no sync
    assert all(isinstance(parameter, DeviceArray)
               for layer in model.layers for parameter in layer.parameters().values())


@pytest.mark.parametrize("network", NETWORKS)
def test_predict_and_evaluate_copy_once_each_way_per_batch_and_call(device, network):
    x, y = data()
    model = NETWORKS[network](device)
    predictions = model.predict(x, batch_size=16)
    assert type(predictions) is np.ndarray
    device.events.clear()
    model.predict(x, batch_size=16)
    assert device.events == {"upload": 3, "download": 1}  # 40 samples: 3 batches up, all outputs down at once
    device.events.clear()
    model.evaluate(x, y, batch_size=16)
    assert device.events == {"upload": 2, "download": 1}  # x and y, then loss and accuracy together


def test_the_progress_bar_reads_the_loss_once_per_refresh(device, capsys, monkeypatch):
    # a bar is drawn only on a terminal (batchnet.training.progress): stderr is one here
    terminal = io.StringIO()
    terminal.isatty = lambda: True
    monkeypatch.setattr("sys.stderr", terminal)
    x, y = data(samples=60)
    model = logits_network(device)
    model.fit(x[:4], y[:4], epochs=1, learning_rate=0.05, batch_size=4, verbose=0)
    device.events.clear()
    steps = 60 // 2
    model.fit(x, y, epochs=1, learning_rate=0.05, batch_size=2, verbose=1)
    refreshes = steps // LOSS_REFRESH_STEPS + (steps % LOSS_REFRESH_STEPS != 0)
    assert device.events["sync"] == refreshes  # a sync per loss shown, not per step


def test_the_pretend_device_is_as_strict_as_cupy(device):
    # what makes the counts above mean something
    on_device = device.asarray(np.ones((2, 3)))
    with pytest.raises(TypeError, match="host .* array among device arrays"):
        on_device + np.ones((2, 3))
    with pytest.raises(TypeError, match="host .* array among device arrays"):
        device.xp.matmul(np.ones((3, 2)), on_device)
    total = on_device.sum()
    assert isinstance(total, DeviceArray) and total.ndim == 0
    assert device.events == {"upload": 1}
    assert float(total) == 6.0 and bool(total) and total.item() == 6.0
    assert device.events == {"upload": 1, "sync": 3}


def test_the_pretend_device_takes_only_what_cupy_has(device):
    pytest.importorskip("cupy", reason="the check is against the installed CuPy")
    on_device = device.asarray(np.ones((2, 3)))
    with pytest.raises(AttributeError, match="cupy has no 'errstate'"):
        device.xp.errstate
    with pytest.raises(TypeError, match=r"cupy.tanh takes no keyword \['where'\]"):
        device.xp.tanh(on_device, where=on_device > 0)
    with pytest.raises(TypeError, match="cupy.empty.* cannot take these arguments"):
        device.xp.empty((2, 3), like=on_device)
    with pytest.raises(AttributeError, match="cupy.ndarray has no 'resize'"):
        on_device.resize((3, 2))
    assert device.xp.tanh(on_device, out=on_device) is not None  # what CuPy takes goes through


def test_training_on_the_pretend_device_matches_numpy(device):
    x, y = data()
    predictions = {}
    for name, backend in (("numpy", "numpy"), ("device", device)):
        model = every_layer(backend)
        model.fit(x, y, epochs=2, batch_size=8, seed=4, verbose=0, optimizer=Adam(0.01))
        predictions[name] = model.predict(x)
    np.testing.assert_allclose(predictions["device"], predictions["numpy"], rtol=1e-10, atol=1e-12)


def test_a_model_trained_on_the_device_saves_and_loads_on_either_side(device, tmp_path):
    from batchnet import load_model, save_model

    x, y = data()
    model = every_layer(device).fit(x, y, epochs=1, learning_rate=0.05, batch_size=8, verbose=0)
    expected = model.predict(x)
    device.events.clear()
    save_model(model, tmp_path / "model.npz")
    assert device.events == {"download": 4 * 2}  # each of the four weighted layers' weights and bias, once
    on_device, on_host = load_model(tmp_path / "model.npz", backend=device), load_model(tmp_path / "model.npz")
    assert all(isinstance(parameter, DeviceArray)
               for layer in on_device.layers for parameter in layer.parameters().values())
    np.testing.assert_allclose(on_device.predict(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(on_host.predict(x), expected, rtol=1e-10, atol=1e-12)


def test_the_command_line_trains_and_evaluates_on_the_device(device, tmp_path, capsys):
    from batchnet import cli
    from cli_data import write_tiny_dataset

    data_dir = str(write_tiny_dataset(tmp_path / "data"))
    accuracy = {}
    for backend in ("numpy", "cupy"):
        assert cli.main(["train", "--data-dir", data_dir, "--model", "cnn", "--epochs", "1", "--limit", "64",
                         "--batch-size", "16", "--dtype", "float64", "--seed", "2", "--verbose", "0",
                         "--backend", backend, "--save", str(tmp_path / f"{backend}.npz")]) == 0
        output = capsys.readouterr().out
        assert f"batch 16, {backend} float64" in output
        accuracy[backend] = output.split("test accuracy: ")[1].split()[0]
    assert accuracy["cupy"] == accuracy["numpy"]
    assert cli.main(["evaluate", str(tmp_path / "cupy.npz"), "--data-dir", data_dir, "--backend", "cupy"]) == 0
    assert capsys.readouterr().out.startswith(f"test accuracy: {accuracy['cupy']}")


# -- moving a network between host and device ---------------------------------------------

def _trained(backend, move_to=None):
    """``every_layer`` after an Adam epoch, optionally moved, then a second epoch with that optimizer."""
    x, y = data()
    model = every_layer(backend)
    optimizer = Adam(0.01)
    model.fit(x, y, epochs=1, batch_size=8, seed=1, verbose=0, optimizer=optimizer)
    if move_to is not None:
        model.to(move_to)
    model.fit(x, y, epochs=1, batch_size=8, seed=2, verbose=0, optimizer=optimizer)
    return model


@pytest.mark.parametrize("start, move_to", [("numpy", "cupy"), ("cupy", "numpy")])
def test_a_network_moved_mid_training_goes_on_as_if_it_had_stayed(device, start, move_to):
    x, _ = data()
    backends_by_name = {"numpy": "numpy", "cupy": device}
    stayed = _trained(backends_by_name[start]).predict(x)
    moved_model = _trained(backends_by_name[start], move_to=backends_by_name[move_to])
    assert moved_model.backend.name == move_to
    parameter_type = DeviceArray if move_to == "cupy" else np.ndarray
    for layer in moved_model.layers:
        assert layer.backend is moved_model.backend
        assert all(type(parameter) is parameter_type for parameter in layer.parameters().values())
    np.testing.assert_allclose(moved_model.predict(x), stayed, rtol=1e-10, atol=1e-12)


def test_moving_copies_each_parameter_and_moment_once(device):
    x, y = data()
    model = every_layer("numpy")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, optimizer=Adam(0.01))
    device.events.clear()
    model.to(device)
    # 8 parameters (four weighted layers), and Adam's two moments of each
    assert device.events == {"upload": 8 + 2 * 8}
    device.events.clear()
    model.to(device)
    assert device.events == {}  # already there
    model.to("numpy")
    assert device.events == {"download": 8 + 2 * 8}


def test_a_network_moved_before_training_draws_the_weights_it_would_have_drawn_there(device):
    x, y = data()
    predictions = []
    for model in (every_layer("numpy").to(device), every_layer(device)):
        model.fit(x, y, epochs=1, learning_rate=0.05, batch_size=8, seed=3, verbose=0)
        predictions.append(model.predict(x))
    np.testing.assert_array_equal(predictions[0], predictions[1])


def test_moving_drops_what_a_layer_kept_from_its_last_batch(device):
    x, y = data()
    model = every_layer(device).fit(x, y, epochs=1, learning_rate=0.05, batch_size=8, verbose=0)
    model.to("numpy")
    convolution = model.layers[0]
    assert convolution.input is None and convolution.output is None and convolution.gradients == {}
    assert convolution._columns is None and convolution._scratch_storage == {}


def test_a_network_moved_after_training_saves_its_input_shape(device, tmp_path):
    from batchnet import load_model, save_model

    x, y = data()
    model = every_layer(device)
    model.fit(x, y, epochs=1, learning_rate=0.05, batch_size=8, seed=1, verbose=0)
    model.to("numpy")
    assert model.sample_shape == (12, 12, 1)  # the move dropped the inputs, not their shape
    save_model(model, tmp_path / "moved.npz")
    loaded = load_model(tmp_path / "moved.npz")
    assert loaded.sample_shape == (12, 12, 1)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-12)
