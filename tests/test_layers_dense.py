"""FCLayer (batchnet/layers/dense.py): reference, finite differences, errors."""

import numpy as np
import pytest

import batchnet.layers as batched
from batchnet import FCLayer, reference
from layer_checks import assert_layer_gradients_match_differences, assert_same_as_reference, copy_parameters, images, standard_normal


@pytest.mark.parametrize("batch, shape, output_size", [
    (4, (5,), 3), (1, (7,), 2), (3, (1,), 4), (2, (3, 4, 2), 5),
])
def test_fc_matches_reference(backend, batch, shape, output_size):
    x = images(batch, shape, seed=7)
    reference_layer = reference.FCLayer(output_size, rng=8)
    batched_layer = batched.FCLayer(output_size)
    copy_parameters(reference_layer, batched_layer, backend, x[0])
    assert_same_as_reference(reference_layer, batched_layer, backend, x)


@pytest.mark.parametrize("shape", [(3, 5), (1, 4), (2, 3, 4, 2)])
def test_fc_gradients_match_finite_differences(backend, shape):
    layer = batched.FCLayer(4, bias_initializer="glorot_uniform")
    assert_layer_gradients_match_differences(layer, backend, standard_normal(shape, seed=3))


def test_dense_layer_rejects_a_different_feature_count_after_initialisation():
    layer = FCLayer(2)
    layer.forward_propagation(np.zeros((1, 6), np.float32))
    with pytest.raises(ValueError, match=r"FCLayer: expected 6 input features, got input of shape \(1, 5\)"):
        layer.forward_propagation(np.zeros((1, 5), np.float32))


@pytest.mark.parametrize("output_size", [0, -3, "10", True])
def test_dense_layer_rejects_an_output_size_that_is_not_a_positive_int(output_size):
    with pytest.raises(ValueError, match=rf"FCLayer: output_size must be a positive int, got {output_size!r}"):
        FCLayer(output_size)


# -- Aflak's FCLayer(input_size, output_size) and keyword-only settings ------------------------------

def test_fc_layer_takes_the_input_size_first_as_aflaks_tutorial_does():
    layer = FCLayer(5, 3)
    output = layer.forward_propagation(np.ones((2, 1, 5), np.float32))  # his (N, 1, features) samples
    assert (layer.input_size, layer.output_size) == (5, 3)
    assert layer.weights.shape == (5, 3) and output.shape == (2, 3)


@pytest.mark.parametrize("make", [
    lambda: FCLayer(input_size=5, output_size=3),
    lambda: FCLayer(5, output_size=3),
    lambda: FCLayer(3, input_size=5),
], ids=["both keywords", "input positional", "output positional"])
def test_fc_layer_takes_its_sizes_as_keywords_too(make):
    layer = make()
    assert (layer.input_size, layer.output_size) == (5, 3)


def test_fc_layer_with_one_size_takes_it_as_the_output_size_and_the_input_size_from_the_first_batch():
    layer = FCLayer(3)
    layer.forward_propagation(np.ones((2, 7), np.float32))
    assert layer.input_size is None and layer.weights.shape == (7, 3)


def test_fc_layer_with_a_declared_input_size_refuses_a_first_batch_of_another_size():
    with pytest.raises(ValueError, match=r"FCLayer: declared input_size=784, got input of shape \(2, 1, 100\) "
                                         r"\(100 features per sample\)"):
        FCLayer(784, 10).forward_propagation(np.ones((2, 1, 100), np.float32))


def test_fc_layer_dtype_is_a_keyword_so_a_second_positional_is_never_a_dtype():
    with pytest.raises(TypeError, match=r"FCLayer: the second positional argument is output_size, got 'float64'; "
                                        r"dtype is a keyword: FCLayer\(3, dtype='float64'\)"):
        FCLayer(3, "float64")
    assert FCLayer(3, dtype="float64").dtype == np.float64


@pytest.mark.parametrize("arguments, keywords, message", [
    ((2, 3, 4), {}, r"FCLayer: expected \(output_size\) or \(input_size, output_size\), got 3 positional arguments"),
    ((), {}, r"FCLayer: missing output_size"),
    ((2, 3), {"output_size": 3}, r"FCLayer: output_size given twice, as 3 and output_size=3"),
    ((2,), {"output_size": 3, "input_size": 4}, r"FCLayer: input_size given twice, as 2 and input_size=4"),
    ((0, 3), {}, r"FCLayer: input_size must be a positive int, got 0"),
    ((3, 2.5), {}, r"FCLayer: output_size must be a positive int, got 2.5"),
])
def test_fc_layer_refuses_sizes_it_cannot_read(arguments, keywords, message):
    with pytest.raises((TypeError, ValueError), match=message):
        FCLayer(*arguments, **keywords)


def test_a_saved_fc_layer_with_a_declared_input_size_loads_and_predicts_alike(tmp_path):
    from batchnet import NeuralNetwork, load_model, save_model

    network = NeuralNetwork().add(FCLayer(4, 3))
    x = images(5, (4,), seed=2)
    expected = network.predict(x)
    save_model(network, tmp_path / "model.npz")
    np.testing.assert_array_equal(load_model(tmp_path / "model.npz").predict(x), expected)


# -- weights and bias set by hand: checked on the next forward pass ------------------------------------

def test_hand_set_weights_of_another_output_size_are_refused_naming_the_weights():
    layer = FCLayer(10)
    layer.weights, layer.bias = np.zeros((1568, 20), np.float32), np.zeros(10, np.float32)
    with pytest.raises(ValueError, match=r"^FCLayer: expected weights of shape \(1568, 10\) for input samples "
                                         r"of shape \(1568,\), got \(1568, 20\)$"):
        layer.forward_propagation(np.zeros((2, 1568), np.float32))


def test_weights_replaced_after_a_run_are_checked_on_the_next_forward_pass():
    layer = FCLayer(10)
    x = np.zeros((2, 8), np.float32)
    layer.forward_propagation(x)
    layer.weights = np.zeros((8, 20), np.float32)
    with pytest.raises(ValueError, match=r"FCLayer: expected weights of shape \(8, 10\) .*got \(8, 20\)"):
        layer.forward_propagation(x)


def test_hand_set_weights_in_pytorchs_linear_layout_are_refused_with_the_transpose_named():
    layer = FCLayer(4, 10)
    layer.weights = np.zeros((10, 4), np.float32)
    with pytest.raises(ValueError, match=r"FCLayer: expected weights of shape \(4, 10\), got \(10, 4\), which looks "
                                         r"like PyTorch's Linear layout \(out, in\): batchnet wants \(in, out\)"):
        layer.forward_propagation(np.zeros((2, 4), np.float32))


def test_a_hand_set_bias_of_aflaks_row_shape_is_refused_with_the_one_dimensional_shape_named():
    layer = FCLayer(3)
    layer.forward_propagation(np.zeros((2, 4), np.float32))
    layer.bias = np.zeros((1, 3), np.float32)
    with pytest.raises(ValueError, match=r"FCLayer: expected bias of shape \(3,\), got \(1, 3\), a row as in Aflak's "
                                         r"tutorial: batchnet's bias is 1-D \(out,\)"):
        layer.forward_propagation(np.zeros((2, 4), np.float32))


def test_hand_set_weights_of_another_dtype_are_refused_before_they_change_the_output_dtype():
    layer = FCLayer(3)
    layer.weights = np.zeros((4, 3))
    with pytest.raises(TypeError, match=r"FCLayer: expected weights of dtype float32 like its input, got float64"):
        layer.forward_propagation(np.zeros((2, 4), np.float32))


def test_hand_set_weights_that_are_not_an_array_are_refused():
    layer = FCLayer(3)
    layer.weights = [[0.0] * 3] * 4
    with pytest.raises(TypeError, match=r"FCLayer: expected weights to be an array, got list"):
        layer.forward_propagation(np.zeros((2, 4), np.float32))


def test_hand_set_weights_of_the_declared_sizes_but_another_input_size_blame_the_input():
    layer = FCLayer(3)
    layer.weights, layer.bias = np.zeros((6, 3), np.float32), np.zeros(3, np.float32)
    with pytest.raises(ValueError, match=r"FCLayer: expected 6 input features, got input of shape \(2, 4\)"):
        layer.forward_propagation(np.zeros((2, 4), np.float32))


def test_a_training_run_checks_each_parameter_array_once_not_each_step(monkeypatch):
    from batchnet import NeuralNetwork, mse, mse_prime
    from batchnet.layers.parametric import ParametricLayer

    checks = []
    original = ParametricLayer._check_assigned_parameters
    monkeypatch.setattr(ParametricLayer, "_check_assigned_parameters",
                        lambda self, x: checks.append(self) or original(self, x))
    network = NeuralNetwork().add(FCLayer(3)).use(mse, mse_prime)
    network.fit(images(64, (4,), seed=1), np.zeros((64, 3), np.float32), epochs=2, learning_rate=0.1,
                batch_size=8, verbose=0, threads=1)
    # the first batch (no arrays yet), the second (the arrays initialize drew); 16 steps in all
    assert len(checks) == 2
