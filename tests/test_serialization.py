"""save_model / load_model: one .npz, JSON architecture plus weights, no pickle, no code run."""

import errno
import io
import json
import os
import stat
import tracemalloc
import zipfile

import numpy as np
import pytest

from batchnet import (
    ActivationLayer,
    AveragePoolingLayer,
    ConvolutionalLayer,
    FCLayer,
    FlattenLayer,
    MaxPoolingLayer,
    NeuralNetwork,
    mse,
    mse_prime,
    one_hot,
    relu,
    relu_prime,
)
from batchnet.saving import architecture
from batchnet.layers.parametric import ParametricLayer
from batchnet.models import standard_cnn, tutorial_cnn, tutorial_mlp
from batchnet.saving.model_file import ModelFileError, load_model, save_model


def every_layer_network(dtype):
    """A small network using every layer type that can be saved."""
    network = NeuralNetwork(dtype=dtype)
    network.add(ConvolutionalLayer(3, (3, 2), padding=(1, 0), stride=(1, 2), weight_initializer="glorot_normal"))
    network.add(ActivationLayer(relu, relu_prime))
    network.add(MaxPoolingLayer((2, 2), stride=1, padding=1))
    network.add(AveragePoolingLayer(2, stride=2))
    network.add(FlattenLayer())
    network.add(FCLayer(4, bias_initializer="tutorial_uniform"))
    return network.use(mse, mse_prime)


def trained(network, shape=(6, 8, 8, 1), classes=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random(shape)
    y = one_hot(rng.integers(0, classes, shape[0]), classes)
    return network.fit(x, y, epochs=1, learning_rate=0.01, batch_size=3, seed=seed, verbose=0), x


def rewrite(path, architecture=None, **replace):
    """Rewrite the model file at ``path`` with a changed architecture and/or arrays."""
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    if architecture is not None:
        arrays["architecture"] = np.array(json.dumps(architecture))
    arrays.update(replace)
    with open(path, "wb") as output:
        np.savez(output, **{name: value for name, value in arrays.items() if value is not None})


def architecture_of(path):
    with np.load(path) as archive:
        return json.loads(str(archive["architecture"]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_gives_identical_predictions(tmp_path, dtype):
    network, x = trained(every_layer_network(dtype))
    save_model(network, tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert loaded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))


@pytest.mark.parametrize("builder", [tutorial_cnn, standard_cnn, tutorial_mlp])
def test_model_builders_round_trip(tmp_path, builder):
    network, x = trained(builder(), shape=(4, 28, 28, 1), classes=10)
    save_model(network, tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))
    assert repr(loaded) == repr(network)


def test_loaded_model_keeps_training(tmp_path):
    network, x = trained(every_layer_network("float64"))
    save_model(network, tmp_path / "model.npz")
    loaded, _ = trained(load_model(tmp_path / "model.npz"), seed=1)
    assert not np.array_equal(loaded.predict(x), network.predict(x))


def test_untrained_model_round_trips_without_weights(tmp_path):
    save_model(tutorial_mlp(), tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert len(loaded.layers) == len(tutorial_mlp().layers)
    assert all(not layer.parameters() for layer in loaded.layers)


def test_file_holds_no_pickled_objects(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    save_model(network, tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    network, _ = trained(every_layer_network("float32"))
    target = tmp_path / "model.npz"
    target.write_bytes(b"the user's earlier model")

    def failing_savez(file, **arrays):
        file.write(b"half")
        raise OSError("disk full (test)")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        save_model(network, target)
    assert target.read_bytes() == b"the user's earlier model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_unregistered_activation_cannot_be_saved(tmp_path):
    network = NeuralNetwork().add(ActivationLayer(np.sin, np.cos))
    with pytest.raises(ValueError, match="activation sin is not one of"):
        save_model(network, tmp_path / "model.npz")


def test_truncated_file_is_rejected(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    save_model(network, tmp_path / "model.npz")
    content = (tmp_path / "model.npz").read_bytes()
    (tmp_path / "model.npz").write_bytes(content[: len(content) // 2])
    with pytest.raises(ModelFileError, match="model.npz"):
        load_model(tmp_path / "model.npz")


def test_non_model_file_is_rejected(tmp_path):
    (tmp_path / "notes.npz").write_bytes(b"not a zip at all")
    with pytest.raises(ModelFileError, match="notes.npz: not a readable batchnet model"):
        load_model(tmp_path / "notes.npz")


def test_plain_npz_without_architecture_is_rejected(tmp_path):
    np.savez(tmp_path / "arrays.npz", weights=np.zeros(3))
    with pytest.raises(ModelFileError, match="no architecture"):
        load_model(tmp_path / "arrays.npz")


def test_object_array_is_rejected_without_unpickling(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    path = tmp_path / "model.npz"
    save_model(network, path)
    rewrite(path, **{"layer0.bias": np.array([object(), None], dtype=object)})
    with pytest.raises(ModelFileError, match="pickle"):
        load_model(path)


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


def test_weights_of_the_wrong_shape_are_rejected(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    path = tmp_path / "model.npz"
    save_model(network, path)
    rewrite(path, **{"layer0.weights": np.zeros((3, 3, 1, 3), dtype=np.float32)})
    with pytest.raises(ModelFileError, match=r"layer 0 \(ConvolutionalLayer\) expects weights of shape \(3, 2, 1, 3\)"):
        load_model(path)


def test_weights_that_do_not_chain_are_rejected(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    path = tmp_path / "model.npz"
    save_model(network, path)
    rewrite(path, **{"layer5.weights": np.zeros((7, 4), dtype=np.float32)})
    with pytest.raises(ModelFileError, match="do not fit together"):
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


def test_extra_arrays_are_rejected(tmp_path):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    rewrite(path, **{"payload": np.zeros(3)})
    with pytest.raises(ModelFileError, match=r"unexpected arrays \['payload'\]"):
        load_model(path)


def test_other_format_versions_are_rejected(tmp_path):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    rewrite(path, dict(architecture_of(path), version=99))
    with pytest.raises(ModelFileError, match="format version 99"):
        load_model(path)


def test_invalid_json_is_rejected(tmp_path):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["architecture"] = np.array("{not json")
    with open(path, "wb") as output:
        np.savez(output, **arrays)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(path)


def test_saved_file_is_a_zip_of_npy_members(tmp_path):
    save_model(tutorial_mlp(), tmp_path / "model.npz")
    with zipfile.ZipFile(tmp_path / "model.npz") as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())


def test_saving_over_a_file_keeps_its_permissions(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"the user's earlier model")
    target.chmod(0o604)
    save_model(tutorial_mlp(), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o604


def test_a_new_file_gets_the_permissions_the_umask_allows(tmp_path):
    previous = os.umask(0o027)
    try:
        save_model(tutorial_mlp(), tmp_path / "model.npz")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "model.npz").stat().st_mode) == 0o640


def test_the_file_is_on_disk_before_it_replaces_the_target(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda *paths: events.append("replace") or real_replace(*paths))
    save_model(tutorial_mlp(), tmp_path / "model.npz")
    assert events == ["fsync", "replace"]


def test_a_failed_write_names_the_users_path_not_the_temporary_file(tmp_path, monkeypatch):
    def disk_full(file, **arrays):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left") as error:
        save_model(tutorial_mlp(), tmp_path / "model.npz")
    assert error.value.filename == str(tmp_path / "model.npz")
    assert ".part" not in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rename_names_the_users_path_not_the_temporary_file(tmp_path, monkeypatch):
    def refused(source, target):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(source), str(target))

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(PermissionError) as error:
        save_model(tutorial_mlp(), tmp_path / "model.npz")
    assert str(error.value) == f"[Errno {errno.EACCES}] {os.strerror(errno.EACCES)}: '{tmp_path / 'model.npz'}'"
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_refuses_new_files_is_reported_with_the_users_path(tmp_path, monkeypatch):
    def refused(path, flags, mode=0o777):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(PermissionError) as error:
        save_model(tutorial_mlp(), tmp_path / "model.npz")
    assert str(error.value) == f"[Errno {errno.EACCES}] {os.strerror(errno.EACCES)}: '{tmp_path / 'model.npz'}'"


def test_saving_onto_a_folder_fails_and_leaves_it_as_it_was(tmp_path):
    folder = tmp_path / "model.npz"
    folder.mkdir()
    (folder / "notes.txt").write_text("kept")
    with pytest.raises(IsADirectoryError, match=f"not a folder: '{folder}'"):
        save_model(tutorial_mlp(), folder)
    assert [path.name for path in tmp_path.iterdir()] == ["model.npz"]
    assert [path.name for path in folder.iterdir()] == ["notes.txt"]


def test_a_path_ending_in_a_slash_names_a_folder_not_a_file(tmp_path):
    with pytest.raises(IsADirectoryError, match="not a folder: '.*new/'"):
        save_model(tutorial_mlp(), f"{tmp_path}/new/")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"no such folder: '{tmp_path / 'missing'}'"):
        save_model(tutorial_mlp(), tmp_path / "missing" / "model.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_parent_that_is_a_file_is_named(tmp_path):
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(NotADirectoryError, match=f"a file, not a folder: '{tmp_path / 'afile'}'"):
        save_model(tutorial_mlp(), tmp_path / "afile" / "model.npz")
    assert [path.name for path in tmp_path.iterdir()] == ["afile"]


def test_swapped_arguments_are_a_type_error(tmp_path):
    with pytest.raises(TypeError, match=r"a NeuralNetwork first, got str \(the arguments are the other way round\)"):
        save_model(str(tmp_path / "model.npz"), tutorial_mlp())
    assert list(tmp_path.iterdir()) == []


def test_a_network_without_layers_is_not_saved(tmp_path):
    with pytest.raises(ValueError, match="cannot save: the network has no layers"):
        save_model(NeuralNetwork().use(mse, mse_prime), tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []


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


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_header(shape, dtype="<f4"):
    """A .npy header announcing ``shape``, without the data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def write_archive(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def members_of(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def peak_memory_of_loading(path):
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError) as error:
            load_model(path)
        return tracemalloc.get_traced_memory()[1], error.value
    finally:
        tracemalloc.stop()


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"No such model file: '{tmp_path / 'missing.npz'}'"):
        load_model(tmp_path / "missing.npz")


def test_deeply_nested_json_is_rejected(tmp_path):
    write_archive(tmp_path / "model.npz", {"architecture.npy": npy_bytes(np.array("[" * 100_000 + "]" * 100_000))})
    with pytest.raises(ModelFileError, match="nested too deeply"):
        load_model(tmp_path / "model.npz")


def test_an_integer_too_long_to_convert_is_invalid_json(tmp_path):
    write_archive(tmp_path / "model.npz", {"architecture.npy": npy_bytes(np.array('{"version": ' + "1" * 5000 + "}"))})
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(tmp_path / "model.npz")


def test_an_overlong_architecture_is_rejected_unread(tmp_path):
    write_archive(tmp_path / "model.npz", {"architecture.npy": npy_header((), dtype=f"<U{(1 << 20) + 1}")})
    with pytest.raises(ModelFileError, match="1048577 characters, more than the 1048576"):
        load_model(tmp_path / "model.npz")


@pytest.mark.parametrize("renamed", ["architecture.npy", "layer5.weights.npy"])
def test_a_member_not_named_npy_is_rejected(tmp_path, renamed):
    network, _ = trained(every_layer_network("float32"))
    save_model(network, tmp_path / "model.npz")
    members = members_of(tmp_path / "model.npz")
    without_suffix = renamed.removesuffix(".npy")
    members[without_suffix] = members.pop(renamed)
    write_archive(tmp_path / "model.npz", members)
    with pytest.raises(ModelFileError, match=f"unexpected member '{without_suffix}'; .* only .npy arrays"):
        load_model(tmp_path / "model.npz")


def test_a_member_named_twice_is_rejected(tmp_path):
    save_model(tutorial_mlp(), tmp_path / "model.npz")
    with zipfile.ZipFile(tmp_path / "model.npz", "a") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("architecture.npy", npy_bytes(np.array("{}")))
    with pytest.raises(ModelFileError, match="'architecture.npy' appears twice"):
        load_model(tmp_path / "model.npz")


@pytest.mark.parametrize("input_shape", [[65536, 65536, 65536], [1] * 100, [True, 4]])
def test_an_input_shape_beyond_the_limits_is_rejected(tmp_path, input_shape):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    rewrite(path, dict(architecture_of(path), input_shape=input_shape))
    with pytest.raises(ModelFileError, match=r"bad input_shape .*: expected a list of 1 to 8 sizes of at least 1, "
                                             r"with at most 67108864 elements in all"):
        load_model(path)


def test_a_wide_flat_input_round_trips(tmp_path):
    network = NeuralNetwork().add(FCLayer(2)).use(mse, mse_prime)
    x = np.random.default_rng(0).random((1, 70_000)).astype(np.float32)
    expected = network.predict(x)
    save_model(network, tmp_path / "model.npz")
    np.testing.assert_array_equal(load_model(tmp_path / "model.npz").predict(x), expected)


def test_a_network_run_on_samples_load_model_would_refuse_is_not_saved(tmp_path):
    network = NeuralNetwork().add(FlattenLayer()).add(FCLayer(2))
    network.predict(np.zeros((1, *[1] * 8, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"ran on samples of shape \(1, 1, 1, 1, 1, 1, 1, 1, 3\), "
                                         r"and load_model reads 1 to 8 sizes"):
        save_model(network, tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []


def test_an_unexpected_member_is_rejected_without_being_decompressed(tmp_path):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    junk = npy_bytes(np.zeros(50_000_000, np.uint8))
    write_archive(path, {**members_of(path), "junk.npy": junk}, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 1_000_000
    peak, error = peak_memory_of_loading(path)
    assert "unexpected arrays ['junk']" in str(error)
    assert peak < 5_000_000


def test_weights_larger_than_the_architecture_says_are_rejected_by_their_header(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    path = tmp_path / "model.npz"
    save_model(network, path)
    oversized = npy_bytes(np.zeros((1_000_000, 50), np.float32))
    write_archive(path, {**members_of(path), "layer5.weights.npy": oversized}, zipfile.ZIP_DEFLATED)
    peak, error = peak_memory_of_loading(path)
    assert "layer 5 (FCLayer) expects weights of shape (24, 4)" in str(error)
    assert peak < 5_000_000


def test_a_header_announcing_more_than_memory_holds_is_rejected(tmp_path):
    architecture = {"format": "batchnet-model", "version": 1, "dtype": "float32", "loss": None, "input_shape": [4],
                    "layers": [{"type": "FCLayer", "arguments": {"output_size": 1 << 40}}]}
    write_archive(tmp_path / "model.npz", {
        "architecture.npy": npy_bytes(np.array(json.dumps(architecture))),
        "layer0.weights.npy": npy_header((4, 1 << 40)),
        "layer0.bias.npy": npy_header((1 << 40,)),
    })
    with pytest.raises(ModelFileError, match="layer0.weights.npy is too large to load into memory"):
        load_model(tmp_path / "model.npz")


def test_a_corrupt_member_is_rejected(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    path = tmp_path / "model.npz"
    save_model(network, path)
    members = members_of(path)
    weights = bytearray(members["layer5.weights.npy"])
    weights[-1] ^= 0xFF
    content = path.read_bytes().replace(members["layer5.weights.npy"], bytes(weights))
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="layer5.weights.npy cannot be read .Bad CRC-32"):
        load_model(path)


def test_a_corrupt_compressed_member_is_rejected(tmp_path):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    write_archive(path, members_of(path), zipfile.ZIP_DEFLATED)
    content = bytearray(path.read_bytes())
    data_start = content.index(b"architecture.npy") + len("architecture.npy")
    content[data_start + 5:data_start + 13] = b"\xff" * 8  # inside the deflate stream: zlib.error
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="architecture.npy cannot be read .Error -3 while decompressing"):
        load_model(path)


def test_an_npy_format_version_numpy_does_not_write_for_plain_arrays_is_rejected(tmp_path):
    path = tmp_path / "model.npz"
    save_model(tutorial_mlp(), path)
    members = members_of(path)
    architecture = members["architecture.npy"]
    members["architecture.npy"] = architecture[:6] + bytes([3, 0]) + architecture[8:]
    write_archive(path, members)
    with pytest.raises(ModelFileError, match=r"architecture.npy cannot be read \(.npy format version 3.0, expected"):
        load_model(path)


def test_without_an_input_shape_an_input_size_beyond_the_limit_is_rejected_by_its_header(tmp_path):
    network, _ = trained(every_layer_network("float32"))
    path = tmp_path / "model.npz"
    save_model(network, path)
    rewrite(path, dict(architecture_of(path), input_shape=None))
    write_archive(path, {**members_of(path), "layer5.weights.npy": npy_header(((1 << 26) + 1, 4))})
    peak, error = peak_memory_of_loading(path)
    assert "layer 5 (FCLayer) expects weights of shape (?, 4), got (67108865, 4)" in str(error)
    assert peak < 5_000_000


def test_a_check_run_that_runs_out_of_memory_is_a_model_file_error(tmp_path, monkeypatch):
    network, _ = trained(every_layer_network("float32"))
    save_model(network, tmp_path / "model.npz")

    def out_of_memory(self, input_data):
        raise MemoryError

    monkeypatch.setattr(FlattenLayer, "forward", out_of_memory)
    with pytest.raises(ModelFileError, match="FlattenLayer needs more memory than is available to run one sample"):
        load_model(tmp_path / "model.npz")


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
