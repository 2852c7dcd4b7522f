"""batchnet.saving.checks: save_model refuses exactly what load_model refuses, by the same rules."""

import numpy as np
import pytest

from batchnet import FCLayer, NeuralNetwork, mse, mse_prime
from batchnet.layers.parametric import ParametricLayer
from batchnet.saving import architecture, checks
from batchnet.saving.model_file import ModelFileError, load_model, save_model
from saving_files import architecture_of, every_layer_network, rewrite, trained


def test_weights_of_the_wrong_shape_are_rejected(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    path = tmp_path / "model.npz"
    save_model(network, path)
    rewrite(path, **{"layer0.weights": np.zeros((3, 3, 1, 3), dtype=np.float32)})
    with pytest.raises(ModelFileError, match=r"layer 0 \(ConvolutionalLayer\) expects weights of shape \(3, 2, 1, 3\)"):
        load_model(path)



def test_missing_weights_of_a_trained_model_are_rejected(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    path = tmp_path / "model.npz"
    save_model(network, path)
    rewrite(path, **{"layer5.bias": None})
    with pytest.raises(ModelFileError, match=r"layer 5 \(FCLayer\) lacks bias"):
        load_model(path)



def test_weights_of_another_dtype_are_rejected(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    path = tmp_path / "model.npz"
    save_model(network, path)
    rewrite(path, **{"layer5.bias": np.zeros(4, dtype=np.int64)})
    with pytest.raises(ModelFileError, match="layer5.bias has dtype int64, the model is float32"):
        load_model(path)



def test_a_trained_network_with_a_reset_layer_is_not_saved(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    network.layers[5].reset_parameters()
    target = tmp_path / "model.npz"
    target.write_bytes(b"the user's earlier model")
    with pytest.raises(ValueError, match=r"layer 5 \(FCLayer\) has no weights or bias yet: train or predict once"):
        save_model(network, target)
    assert target.read_bytes() == b"the user's earlier model"



def test_a_reset_layer_that_ran_again_saves_and_loads(tmp_path):
    network, x = trained(every_layer_network("float32"))
    network.layers[5].reset_parameters()
    expected = network.predict(x)
    save_model(network, tmp_path / "model.npz")
    np.testing.assert_array_equal(load_model(tmp_path / "model.npz").predict(x), expected)



def test_a_layer_with_weights_but_no_bias_is_not_saved(tmp_path):
    layer = FCLayer(3)
    layer.weights = np.zeros((4, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"layer 0 \(FCLayer\) has no bias yet"):
        save_model(NeuralNetwork().add(layer), tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []



def test_weights_set_by_hand_on_a_network_that_never_ran_are_saved(tmp_path):
    layer = FCLayer(3)
    layer.weights = np.arange(12, dtype=np.float32).reshape(4, 3)
    layer.bias = np.ones(3, dtype=np.float32)
    save_model(NeuralNetwork().add(layer), tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.layers[0].weights, layer.weights)
    x = np.ones((2, 4), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x), NeuralNetwork().add(layer).predict(x))



def test_weights_set_by_hand_in_another_dtype_are_not_saved(tmp_path):
    layer = FCLayer(3)
    layer.weights, layer.bias = np.ones((4, 3)), np.zeros(3)
    with pytest.raises(ValueError, match=r"layer 0 \(FCLayer\) has weights of dtype float64, the network is float32"):
        save_model(NeuralNetwork().add(layer), tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []



def test_weights_set_by_hand_in_a_shape_the_layer_cannot_have_are_not_saved(tmp_path):
    layer = FCLayer(3)
    layer.weights, layer.bias = np.ones((4, 5), dtype=np.float32), np.zeros(3, dtype=np.float32)
    with pytest.raises(ValueError, match=r"\(FCLayer\) has weights of shape \(4, 5\), where it expects \(\?, 3\)"):
        save_model(NeuralNetwork().add(layer), tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []



def test_weights_set_by_hand_after_a_run_are_checked_against_the_input_it_had(tmp_path):
    network = NeuralNetwork().add(FCLayer(3))
    network.predict(np.ones((2, 4), dtype=np.float32))
    network.layers[0].weights = np.ones((5, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"has weights of shape \(5, 3\), where it expects \(4, 3\)"):
        save_model(network, tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []



def test_a_wrong_weights_shape_is_reported_against_the_shape_the_architecture_gives(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    path = tmp_path / "model.npz"
    save_model(network, path)
    rewrite(path, **{"layer5.weights": np.zeros((7, 7), dtype=np.float32)})
    with pytest.raises(ModelFileError, match=r"layer 5 \(FCLayer\) expects weights of shape \(24, 4\) "
                                             r"for input samples of shape \(24,\), got \(7, 7\)"):
        load_model(path)



def test_without_an_input_shape_the_sizes_the_layer_fixes_are_still_checked(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    path = tmp_path / "model.npz"
    save_model(network, path)
    rewrite(path, dict(architecture_of(path), input_shape=None),
            **{"layer5.weights": np.zeros((7, 5), dtype=np.float32)})
    with pytest.raises(ModelFileError, match=r"layer 5 \(FCLayer\) expects weights of shape \(\?, 4\), got \(7, 5\)"):
        load_model(path)



class ScaleLayer(ParametricLayer):
    """A parametric layer that is neither dense nor convolutional: ``y = x * w + b`` per feature."""

    def parameter_shapes(self, sample_shape=None):
        features = None if sample_shape is None else sample_shape[-1]
        return {"weights": (features,), "bias": (features,)}

    def fans(self, weights_shape):
        return 1, 1

    def forward(self, input_data):
        return input_data * self.weights + self.bias

    def backward(self, output_error, need_input_error=True):
        self.gradients = {"weights": (self.input * output_error).sum(axis=0), "bias": output_error.sum(axis=0)}
        return output_error * self.weights if need_input_error else None



def test_any_parametric_layer_is_checked_against_its_own_parameter_shapes(tmp_path, monkeypatch):
    monkeypatch.setitem(architecture.LAYER_ARGUMENTS, ScaleLayer, ("weight_initializer", "bias_initializer"))
    monkeypatch.setitem(architecture.LAYER_TYPES, "ScaleLayer", ScaleLayer)
    network, x = trained(NeuralNetwork().add(ScaleLayer()).use(mse, mse_prime), shape=(6, 4), classes=4)
    path = tmp_path / "model.npz"
    save_model(network, path)
    np.testing.assert_array_equal(load_model(path).predict(x), network.predict(x))
    rewrite(path, **{"layer0.weights": np.zeros(3, dtype=np.float32)})
    with pytest.raises(ModelFileError, match=r"layer 0 \(ScaleLayer\) expects weights of shape \(4,\)"):
        load_model(path)



def test_weights_with_nan_are_refused_at_save_and_an_existing_file_is_kept(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    path = tmp_path / "model.npz"
    save_model(network, path)
    before = path.read_bytes()
    index, layer = next((index, layer) for index, layer in enumerate(network.layers) if layer.parameter_names)
    layer.weights[(0,) * layer.weights.ndim] = np.nan
    with pytest.raises(ValueError, match=rf"save_model: cannot save: layer {index} \({layer.name}\) has NaN or inf in weights"):
        save_model(network, path)
    assert path.read_bytes() == before



def test_a_wide_flat_input_round_trips(tmp_path):
    network = NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
    x = np.random.default_rng(0).random((1, 70_000)).astype(np.float32)
    expected = network.predict(x)
    save_model(network, tmp_path / "model.npz")
    np.testing.assert_array_equal(load_model(tmp_path / "model.npz").predict(x), expected)


@pytest.mark.parametrize("shape, follows", [
    ([1 << 26], True), ([(1 << 26) + 1], False), ([1 << 13, 1 << 13], True), ([1] * 8, True), ([1] * 9, False),
    ([], False), ([0], False), ([True], False), ([2.0], False), ((2, 2), False), (None, False),
])
def test_a_sample_shape_is_a_list_of_at_most_eight_positive_sizes_within_the_element_bound(shape, follows):
    assert checks.is_sample_shape(shape) is follows


def test_a_size_that_follows_from_the_input_fits_any_size_up_to_the_element_bound():
    assert checks.fits((None, 3), (1, 3)) and checks.fits((None, 3), (1 << 26, 3))
    assert not checks.fits((None, 3), ((1 << 26) + 1, 3))
    assert not checks.fits((None, 3), (0, 3))
    assert not checks.fits((None, 3), (4, 4))
    assert not checks.fits((None, 3), (4, 3, 1))


def test_a_layer_has_all_its_parameters_or_none_before_it_ran_and_all_after():
    layer = FCLayer(3)
    float32 = np.dtype("float32")
    assert checks.parameter_problem(layer, {}, float32, None, trained=False) is None
    assert checks.parameter_problem(layer, {}, float32, (4,), trained=True) == checks.ParameterProblem("missing", ("weights", "bias"))
    assert checks.parameter_problem(layer, {"weights": (float32, (4, 3))}, float32, None,
                                    trained=False) == checks.ParameterProblem("missing", ("bias",))


def test_the_first_parameter_of_the_wrong_dtype_or_shape_is_named_with_what_was_expected():
    layer = FCLayer(3)
    float32, float64 = np.dtype("float32"), np.dtype("float64")
    good = {"weights": (float32, (4, 3)), "bias": (float32, (3,))}
    assert checks.parameter_problem(layer, good, float32, (4,), trained=True) is None
    assert checks.parameter_problem(layer, dict(good, bias=(float64, (3,))), float32, (4,), trained=True) == checks.ParameterProblem(
        "dtype", ("bias",), float64, float32)
    assert checks.parameter_problem(layer, dict(good, weights=(float32, (5, 3))), float32, (4,), trained=True) == checks.ParameterProblem(
        "shape", ("weights",), (5, 3), (4, 3))
    # without the input's shape the rows of the weights may be any size
    assert checks.parameter_problem(layer, dict(good, weights=(float32, (5, 3))), float32, None, trained=False) is None


def test_only_finite_values_are_finite():
    assert checks.all_finite(np.zeros(3))
    assert not checks.all_finite(np.array([0.0, np.inf]))
    assert not checks.all_finite(np.array([np.nan]))
