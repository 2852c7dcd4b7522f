"""batchnet.saving.architecture: networks described as plain data and built back, by registered names only."""

import json

import numpy as np
import pytest

from batchnet import ActivationLayer, FCLayer, FlattenLayer, NeuralNetwork, mse, mse_prime, relu, relu_prime
from batchnet.models import standard_cnn, tutorial_cnn, tutorial_mlp
from batchnet.saving.model_file import ModelFileError, load_model, save_model
from batchnet.saving.architecture import ArchitectureError, build_network, describe_network, set_parameters
from saving_files import architecture_of, every_layer_network, rewrite, trained


@pytest.mark.parametrize("builder", [tutorial_cnn, standard_cnn, tutorial_mlp])
def test_model_builders_round_trip(tmp_path, builder):
    network, x = trained(builder(), shape=(4, 28, 28, 1), classes=10)
    save_model(network, tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))
    assert repr(loaded) == repr(network)



def test_unregistered_activation_cannot_be_saved(tmp_path):
    network = NeuralNetwork().add(ActivationLayer(np.sin, np.cos))
    with pytest.raises(ValueError, match="activation sin is not one of"):
        save_model(network, tmp_path / "model.npz")



def test_unknown_layer_type_is_rejected(tmp_path):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    architecture = architecture_of(path)
    architecture["layers"][0] = {"type": "os.system", "arguments": {}}
    rewrite(path, architecture)
    with pytest.raises(ModelFileError, match="unknown layer type 'os.system'"):
        load_model(path)



@pytest.mark.parametrize("name", ["eval", "builtins.exec", "__import__", "os.system"])
def test_activation_naming_arbitrary_callables_is_rejected(tmp_path, name):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    architecture = architecture_of(path)
    architecture["layers"][2]["arguments"]["activation"] = name
    rewrite(path, architecture)
    with pytest.raises(ModelFileError, match=f"unknown activation {name!r}"):
        load_model(path)



def test_unknown_loss_is_rejected(tmp_path):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    rewrite(path, dict(architecture_of(path), loss="subprocess.call"))
    with pytest.raises(ModelFileError, match="unknown loss 'subprocess.call'"):
        load_model(path)



def test_unknown_initializer_is_rejected(tmp_path):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    architecture = architecture_of(path)
    architecture["layers"][1]["arguments"]["weight_initializer"] = "os.remove"
    rewrite(path, architecture)
    with pytest.raises(ModelFileError, match="unknown initializer 'os.remove'"):
        load_model(path)



def test_unexpected_constructor_argument_is_rejected(tmp_path):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    architecture = architecture_of(path)
    architecture["layers"][1]["arguments"]["__class__"] = "x"
    rewrite(path, architecture)
    with pytest.raises(ModelFileError, match=r"unexpected arguments \['__class__'\]"):
        load_model(path)



def test_bad_constructor_value_is_rejected(tmp_path):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    architecture = architecture_of(path)
    architecture["layers"][1]["arguments"]["output_size"] = "100"
    rewrite(path, architecture)
    with pytest.raises(ModelFileError, match="layer 1: FCLayer: output_size must be a positive int"):
        load_model(path)



def test_a_network_without_layers_is_not_saved(tmp_path):
    with pytest.raises(ValueError, match="cannot save: the network has no layers"):
        save_model(NeuralNetwork().use(mse, mse_prime), tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []



@pytest.mark.parametrize("input_shape", [[65536, 65536, 65536], [1] * 100, [True, 4]])
def test_an_input_shape_beyond_the_limits_is_rejected(tmp_path, input_shape):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    rewrite(path, dict(architecture_of(path), input_shape=input_shape))
    with pytest.raises(ModelFileError, match=r"bad input_shape .*: expected a list of 1 to 8 sizes of at least 1, "
                                             r"with at most 67108864 elements in all"):
        load_model(path)



def test_a_network_run_on_samples_load_model_would_refuse_is_not_saved(tmp_path):
    network = NeuralNetwork().add(FlattenLayer()).add(FCLayer(2))
    network.predict(np.zeros((1, *[1] * 8, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"ran on samples of shape \(1, 1, 1, 1, 1, 1, 1, 1, 3\), "
                                         r"and load_model reads 1 to 8 sizes"):
        save_model(network, tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []



def test_weights_that_do_not_chain_are_rejected(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    path = tmp_path / "model.npz"
    save_model(network, path)
    rewrite(path, **{"layer5.weights": np.zeros((7, 4), dtype=np.float32)})
    with pytest.raises(ModelFileError, match="do not fit together"):
        load_model(path)



def test_a_check_run_that_runs_out_of_memory_is_a_model_file_error(tmp_path, monkeypatch):
    network, _ = trained(every_layer_network("float32"))
    save_model(network, tmp_path / "model.npz")

    def out_of_memory(self, input_data):
        raise MemoryError

    monkeypatch.setattr(FlattenLayer, "forward", out_of_memory)
    with pytest.raises(ModelFileError, match="FlattenLayer needs more memory than is available to run one sample"):
        load_model(tmp_path / "model.npz")


def small_network():
    return (NeuralNetwork(dtype="float64").add(FCLayer(3, weight_initializer="he_normal"))
            .add(ActivationLayer(relu, relu_prime)).use(mse, mse_prime))


def test_describe_network_gives_the_layers_their_arguments_and_the_registered_names():
    assert describe_network(small_network()) == {
        "dtype": "float64",
        "loss": "mse",
        "input_shape": None,
        "layers": [
            {"type": "FCLayer", "arguments": {"output_size": 3, "weight_initializer": "he_normal",
                                              "bias_initializer": "zeros"}},
            {"type": "ActivationLayer", "arguments": {"activation": "relu"}},
        ],
    }


def test_a_description_is_plain_json_and_knows_nothing_of_the_model_file():
    network, _ = trained(every_layer_network("float32"))
    description = describe_network(network)
    assert json.loads(json.dumps(description)) == description
    assert set(description) == {"dtype", "loss", "input_shape", "layers"}
    assert description["input_shape"] == [8, 8, 1]


def test_build_network_gives_the_same_layers_without_weights():
    network = every_layer_network("float64")
    assert repr(build_network(describe_network(network))) == repr(network)
    trained(network)
    built = build_network(describe_network(network))
    assert built.dtype == np.float64
    assert (built.loss, built.loss_prime) == (mse, mse_prime)
    assert all(not layer.parameters() for layer in built.layers)


def test_build_network_errors_name_the_layer_and_no_file():
    description = describe_network(small_network())
    description["layers"][1]["arguments"]["activation"] = "os.system"
    with pytest.raises(ArchitectureError, match=r"^layer 1: unknown activation 'os.system'; expected one of"):
        build_network(description)


def test_describe_network_refuses_an_unregistered_activation():
    with pytest.raises(ArchitectureError, match=r"^the activation sin is not one of"):
        describe_network(NeuralNetwork().add(ActivationLayer(np.sin, np.cos)))


def test_set_parameters_gives_each_layer_the_arrays_for_the_samples_that_reach_it():
    network, x = trained(every_layer_network("float64"))
    built = build_network(describe_network(network))
    asked = []

    def parameters_for(index, layer, sample_shape):
        asked.append((index, sample_shape))
        return {name: network.layers[index].backend.to_numpy(array)
                for name, array in network.layers[index].parameters().items()}

    set_parameters(built, network.sample_shape, parameters_for)
    assert asked[0] == (0, (8, 8, 1)) and asked[5] == (5, (24,))
    np.testing.assert_array_equal(built.predict(x), network.predict(x))


def test_set_parameters_refuses_layers_that_do_not_chain():
    built = build_network(describe_network(NeuralNetwork().add(FCLayer(3)).add(FCLayer(2))))

    def parameters_for(index, layer, sample_shape):
        # weights for 5 inputs where the layer before gives 3
        rows = sample_shape[0] if index == 0 else 5
        return {"weights": np.zeros((rows, layer.output_size)), "bias": np.zeros(layer.output_size)}

    with pytest.raises(ArchitectureError, match=r"^the saved layers do not fit together \(FCLayer: "):
        set_parameters(built, [4], parameters_for)
