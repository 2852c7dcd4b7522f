"""batchnet.saving.model_file: the .npz container, read without pickle and with every size bounded before it is read."""

import json
import zipfile

import numpy as np
import pytest

from batchnet.models import tutorial_mlp
from batchnet.saving.model_file import ModelFileError, load_model, save_model
from saving_files import (
    architecture_of,
    every_layer_network,
    members_of,
    npy_bytes,
    npy_header,
    peak_memory_of_loading,
    rewrite,
    trained,
    write_archive,
)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_gives_identical_predictions(tmp_path, dtype):
    network, x = trained(every_layer_network(dtype))
    save_model(network, tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert loaded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))



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



def test_swapped_arguments_are_a_type_error(tmp_path):
    with pytest.raises(TypeError, match=r"a NeuralNetwork first, got str \(the arguments are the other way round\)"):
        save_model(str(tmp_path / "model.npz"), tutorial_mlp())
    assert list(tmp_path.iterdir()) == []



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
    # no input shape: no check run, whose budget would refuse the layer first (test_hostile_model_files.py)
    architecture = {"format": "batchnet-model", "version": 1, "dtype": "float32", "loss": None, "input_shape": None,
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
