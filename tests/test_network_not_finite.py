"""``predict`` on finite inputs whose outputs overflow: a RuntimeWarning naming the first layer that overflowed."""

import warnings

import numpy as np
import pytest

from batchnet import ActivationLayer, FCLayer, NeuralNetwork, relu, relu_prime


def overflowing_net(backend=None):
    """FC(4) as the identity, relu, then FC(2) with weights 1e10: inputs of 1e30 stay finite
    through layers 0 and 1 and overflow float32 (about 3.4e38) in layer 2, by construction."""
    net = NeuralNetwork(backend=backend).add(FCLayer(4)).add(ActivationLayer(relu, relu_prime)).add(FCLayer(2))
    net.predict(np.zeros((1, 4), np.float32))  # builds the layers
    xp = net.backend.xp
    net.layers[0].weights = xp.eye(4, dtype=np.float32)
    net.layers[0].bias = xp.zeros(4, dtype=np.float32)
    net.layers[2].weights = xp.full((4, 2), 1e10, dtype=np.float32)
    net.layers[2].bias = xp.zeros(2, dtype=np.float32)
    return net


def ours(caught):
    return [str(warning.message) for warning in caught
            if issubclass(warning.category, RuntimeWarning) and "NeuralNetwork.predict" in str(warning.message)]


def test_outputs_that_overflow_warn_naming_the_first_layer_that_is_not_finite():
    net = overflowing_net()
    x = np.array([[1.0, 2.0, 3.0, 4.0], [1e30, 1e30, 1e30, 1e30], [1e30, 0, 0, 0]], np.float32)
    assert np.isfinite(x).all()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs = net.predict(x)
    assert np.isfinite(outputs[0]).all() and not np.isfinite(outputs[1:]).any()  # still returned as they came
    said = ours(caught)
    assert len(said) == 1, said
    assert "the outputs of 2 of 3 samples are not finite" in said[0]
    assert f"for sample 1 they first stop being finite in layer 2, {net.layers[2]!r}" in said[0]


def test_the_warning_points_at_the_callers_line():
    net = overflowing_net()
    # NumPy's own "overflow encountered in matmul", which pytest.warns hands on, is not the subject here
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="overflow encountered", category=RuntimeWarning)
        with pytest.warns(RuntimeWarning, match="NeuralNetwork.predict") as caught:
            net.predict(np.full((2, 4), 1e30, np.float32))
    assert any(warning.filename == __file__ for warning in caught if "NeuralNetwork.predict" in str(warning.message))


def test_finite_outputs_give_no_warning():
    net = overflowing_net()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.predict(np.full((5, 4), 1e20, np.float32))  # 4e30 at the output: large, finite


def test_a_later_prediction_is_unchanged_by_the_search_for_the_layer():
    net = overflowing_net()
    x = np.random.default_rng(0).random((300, 4)).astype(np.float32)
    expected = net.predict(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        net.predict(np.full((3, 4), 1e30, np.float32))
    np.testing.assert_array_equal(net.predict(x), expected)
