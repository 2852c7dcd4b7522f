"""Hostile and broken model files: bounded memory and time, a one-line ModelFileError, nothing that blocks.

Each test writes a small file that asks for much (a padding of 3000, a large
input through many layers), breaks numpy's or zipfile's assumptions (a
header without its closing brace, sizes in the zip directory that were
changed), or is not a file at all (a FIFO, /dev/zero), and checks what a load
gives: the error, its wording, and what the load cost.
"""

import io
import os
import re
import stat
import subprocess
import sys
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

from batchnet import (
    ActivationLayer,
    ConvolutionalLayer,
    FCLayer,
    FlattenLayer,
    NeuralNetwork,
    mse,
    mse_prime,
    relu,
    relu_prime,
)
from batchnet.saving import budget
from batchnet.saving.model_file import ModelFileError, load_model, save_model
from saving_files import (
    central_entry_offset,
    data_offset,
    every_layer_network,
    member_info,
    members_of,
    npy_bytes,
    npy_header,
    peak_memory_of_loading,
    record_member,
    trained,
    write_archive,
    write_model_file,
)

MiB = 1 << 20


def conv(filters=4, kernel=3, **arguments):
    return {"type": "ConvolutionalLayer", "arguments": {"filters_count": filters, "filter_shape": [kernel, kernel],
                                                       **arguments}}


def conv_arrays(index=0, kernel=3, channels=1, filters=4):
    return {f"layer{index}.weights": np.zeros((kernel, kernel, channels, filters), np.float32),
            f"layer{index}.bias": np.zeros(filters, np.float32)}


RELU = {"type": "ActivationLayer", "arguments": {"activation": "relu"}}


# -- the check run of a load: its cost worked out before it runs ------------------------
def test_a_padding_of_3000_is_refused_before_the_check_run_allocates(tmp_path):
    path = write_model_file(tmp_path / "model.npz", [conv(padding=[3000, 3000])], (28, 28, 1), arrays=conv_arrays())
    assert path.stat().st_size < 10_000
    peak, error = peak_memory_of_loading(path)
    # 4 * (784 input + 6054**2 padded + 6026**2 * 9 columns + 6026**2 * 4 output) bytes
    assert "layer 0 (ConvolutionalLayer) would hold 1.89 GiB for one sample of shape (28, 28, 1)" in str(error)
    assert "output (6026, 6026, 4)" in str(error) and "1 GiB at once" in str(error)
    assert peak < 5 * MiB


def test_a_check_run_that_would_take_long_is_refused_by_its_operations(tmp_path):
    # 64x64 windows at every pixel of a 2048x2048 input: 1985 * 1985 * 4096 = 1.6e10 comparisons
    pool = {"type": "MaxPoolingLayer", "arguments": {"pool_shape": [64, 64], "stride": [1, 1]}}
    path = write_model_file(tmp_path / "model.npz", [pool], (2048, 2048, 1))
    peak, error = peak_memory_of_loading(path)
    assert re.search(r"layer 0 \(MaxPoolingLayer\) takes the check run of one sample of shape \(2048, 2048, 1\) "
                     r"to \d\.\d+e\+10 operations \(this layer \d\.\d+e\+10, on input \(2048, 2048, 1\)\): "
                     r"a load's check run of one sample may use 1 GiB at once and 2\*\*31 operations in all$", str(error))
    assert peak < 5 * MiB


def test_the_operations_of_every_layer_count_together(tmp_path):
    # each convolution is within the budget, and they are refused at the first that takes their sum over it
    layers = [conv(filters=8, padding=[1, 1]) for _ in range(12)]
    arrays = {name: array for index in range(12)
              for name, array in conv_arrays(index, channels=1 if index == 0 else 8, filters=8).items()}
    path = write_model_file(tmp_path / "model.npz", layers, (1024, 1024, 1), arrays=arrays)
    built = [ConvolutionalLayer(8, 3, padding=1) for _ in range(12)]
    costs = [budget.forward_cost(layer, (1024, 1024, 1 if index == 0 else 8)) for index, layer in enumerate(built)]
    assert all(cost.operations < budget.MAX_CHECK_OPERATIONS for cost in costs)
    first_over = next(index for index in range(12)
                      if sum(cost.operations for cost in costs[:index + 1]) > budget.MAX_CHECK_OPERATIONS)
    assert first_over > 1
    peak, error = peak_memory_of_loading(path)
    assert f"layer {first_over} (ConvolutionalLayer) takes the check run of one sample of shape (1024, 1024, 1)" in (
        str(error))
    assert peak < 5 * MiB


def test_the_check_run_holds_one_layers_output_at_a_time(tmp_path):
    input_shape = (2048, 2048, 1)  # 16 MiB a sample in float32
    path = write_model_file(tmp_path / "model.npz", [RELU] * 8, input_shape)
    tracemalloc.start()
    try:
        network = load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert network.sample_shape == input_shape
    assert peak < 3 * 16 * MiB  # the input and one output (before: the input and all eight outputs)


def test_a_load_that_runs_out_of_memory_is_a_model_file_error(tmp_path):
    # a float64 input at the sample bound, 512 MiB, in a process allowed about 256 MiB more than it has
    path = write_model_file(tmp_path / "model.npz", [{"type": "FlattenLayer"}], (8192, 8192, 1), dtype="float64")
    child = """if True:
        import resource, sys
        from batchnet.saving.model_file import ModelFileError, load_model
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[0])
        allowed = pages * resource.getpagesize() + 256 * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (allowed, allowed))
        try:
            load_model(sys.argv[1])
        except ModelFileError as error:
            print(error)
    """
    result = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}: an input sample of shape (8192, 8192, 1) needs more memory than is available\n"


def test_a_network_over_the_budget_is_refused_at_save_time_and_at_load_time(tmp_path, monkeypatch):
    network, _ = trained(every_layer_network("float32"))
    save_model(network, tmp_path / "saved_before.npz")
    # the first layer holds 432 floats for one 8x8 sample: the input (64), the padded input (10 * 8),
    # im2col's columns (8 * 4 rows of 3 * 2) and the output (8 * 4 * 3): 1728 bytes
    monkeypatch.setattr(budget, "MAX_CHECK_BYTES", 1024)
    with pytest.raises(ValueError, match=r"^save_model: cannot save: load_model would refuse the file: "
                                         r"layer 0 \(ConvolutionalLayer\) would hold 1.69 KiB for one sample of shape "
                                         r"\(8, 8, 1\) \(output \(8, 4, 3\)\): .* may use 1 KiB at once"):
        save_model(network, tmp_path / "model.npz")
    assert not (tmp_path / "model.npz").exists()
    with pytest.raises(ModelFileError, match=r"layer 0 \(ConvolutionalLayer\) would hold 1.69 KiB .* 1 KiB at once"):
        load_model(tmp_path / "saved_before.npz")


# -- what numpy's and the layers' own checks raise, as ModelFileErrors ----------------------
def test_an_npy_header_without_its_closing_brace_is_a_model_file_error(tmp_path):
    path = write_model_file(tmp_path / "model.npz", [{"type": "FlattenLayer"}], (4,))
    members = members_of(path)
    architecture = members["architecture.npy"]
    closing = architecture.index(b"}")
    members["architecture.npy"] = architecture[:closing] + b" " + architecture[closing + 1:]
    write_archive(path, members)
    with pytest.raises(ModelFileError, match=r"architecture.npy cannot be read \(the .npy header is not a Python "
                                             r"literal: \"\{'descr': '<U\d+', 'fortran_order': False, 'shape': \(\),\"\)$"):
        load_model(path)


@pytest.mark.parametrize("stride", [2**63, 2**64 + 1, [1, 2**63]])
def test_a_stride_beyond_what_the_kernels_take_is_a_model_file_error(tmp_path, stride):
    path = write_model_file(tmp_path / "model.npz", [conv(stride=stride)], (28, 28, 1), arrays=conv_arrays())
    with pytest.raises(ModelFileError, match=r"layer 0: ConvolutionalLayer: stride must be at most 2147483647"):
        load_model(path)


# -- messages: one line, and what they quote from the file cut short ------------------------
def _long_messages():
    long_name = "Bogus" + "x" * 100_000
    return {
        "layer type": ([{"type": long_name}], None, {}),
        "argument value": ([conv(padding=list(range(100_000)))], None, {}),
        "argument names": ([{"type": "FlattenLayer", "arguments": {f"option{i}": 0 for i in range(10_000)}}],
                           None, {}),
        "dtype": ([{"type": "FlattenLayer"}], "float" + "9" * 60_000, {}),
        "unexpected arrays": ([{"type": "FlattenLayer"}], None, {f"extra{'y' * 1000}{i}": np.zeros(1)
                                                                 for i in range(200)}),
        "input shape": ([{"type": "FlattenLayer"}], None, {}, list(range(1, 100_000))),
    }


@pytest.mark.parametrize("case", sorted(_long_messages()))
def test_an_error_quoting_the_file_is_one_short_line(tmp_path, case):
    layers, dtype, arrays, *input_shape = _long_messages()[case]
    path = write_model_file(tmp_path / "model.npz", layers, input_shape[0] if input_shape else None,
                            dtype=dtype or "float32", arrays=arrays)
    with pytest.raises(ModelFileError) as error:
        load_model(path)
    message = str(error.value)
    assert "\n" not in message
    assert len(message) < len(str(path)) + 500
    assert "..." in message  # what was quoted is marked as cut


def test_an_overlong_member_name_is_quoted_cut_short(tmp_path):
    path = write_model_file(tmp_path / "model.npz", [{"type": "FlattenLayer"}], (4,))
    write_archive(path, {**members_of(path), "n" * 60_000: b"junk"})
    with pytest.raises(ModelFileError, match=r"unexpected member 'nnnn+\.\.\.; a batchnet model file holds only") as error:
        load_model(path)
    assert len(str(error.value)) < len(str(path)) + 300


def test_an_npy_header_over_numpys_bound_is_one_line_saying_so(tmp_path):
    header = npy_header((), dtype="<U10")
    text = header[10:-1]  # after the magic, the version and the length; before the closing newline
    text += b" " * (20_000 - len(text) - 1) + b"\n"
    write_archive(tmp_path / "model.npz", {"architecture.npy": header[:8] + len(text).to_bytes(2, "little") + text})
    with pytest.raises(ModelFileError, match=r"architecture.npy cannot be read \(a .npy header of 20000 bytes, "
                                             r"more than the 10000 numpy reads\)$"):
        load_model(tmp_path / "model.npz")


# -- the zip's records: every member read whole and checked against them ---------------------
@pytest.fixture
def saved(tmp_path):
    """A model file whose members are large: zipfile reads ahead 4 KiB, and so reaches (and checks the CRC
    at) the end of a small member, lengthened or not, but not of one whose last read is larger."""
    network = NeuralNetwork().add(FlattenLayer()).add(FCLayer(5000)).use(mse, mse_prime)
    network, _ = trained(network, classes=5000)
    save_model(network, tmp_path / "model.npz")
    return tmp_path / "model.npz"


def flip_a_value_byte(content, name):
    """``content`` with a bit flipped in the last float32 of member ``name``: its lowest, so that it stays finite."""
    content = bytearray(content)
    content[data_offset(content, name) + member_info(content, name).file_size - 4] ^= 0x01
    return bytes(content)


def lengthened(content, name, extra, crc=None):
    """``content`` with member ``name`` recorded ``extra`` bytes longer, in its local header and the directory."""
    info = member_info(content, name)
    return record_member(content, name, size=info.file_size + extra, stored=info.compress_size + extra, crc=crc)


def last_member(content):
    return max((member_info(content, name) for name in zipfile.ZipFile(io.BytesIO(content)).namelist()),
               key=lambda info: info.header_offset)


def test_a_flipped_weight_in_a_member_whose_recorded_sizes_were_lengthened_is_refused(saved):
    content = flip_a_value_byte(saved.read_bytes(), "layer1.weights.npy")
    saved.write_bytes(lengthened(content, "layer1.weights.npy", 1))
    # the one byte more is the next member's first
    with pytest.raises(ModelFileError, match=r"members 'layer1.weights.npy' and 'layer1.bias.npy' overlap"):
        load_model(saved)


def test_a_flipped_value_in_the_last_member_lengthened_is_refused_by_its_crc(saved):
    # the last member's byte more is the zip directory's first, where no other member starts
    name = last_member(saved.read_bytes()).filename
    saved.write_bytes(lengthened(flip_a_value_byte(saved.read_bytes(), name), name, 1))
    with pytest.raises(ModelFileError, match=rf"{name} cannot be read \(Bad CRC-32"):
        load_model(saved)


def test_a_member_with_bytes_after_its_array_is_refused_even_with_a_matching_crc(saved):
    content = saved.read_bytes()
    info = last_member(content)
    start = data_offset(content, info.filename)
    crc = zlib.crc32(content[start:start + info.file_size + 1])  # of what the lengthened member holds
    saved.write_bytes(lengthened(content, info.filename, 1, crc=crc))
    with pytest.raises(ModelFileError, match=rf"{info.filename} has bytes after its array: the zip directory says "
                                             rf"{info.file_size + 1} bytes, the array ends after {info.file_size}"):
        load_model(saved)


def test_a_member_shorter_than_the_directory_says_is_refused(saved):
    write_archive(saved, members_of(saved), zipfile.ZIP_DEFLATED)
    content = bytearray(saved.read_bytes())
    info = member_info(content, "layer1.weights.npy")
    # the size in all alone, in both records: the compressed stream ends where it did, so the array
    # comes whole and its CRC holds; zipfile.writestr's local header keeps it at byte 22, not in a zip64 field
    entry = central_entry_offset(content, "layer1.weights.npy")
    content[entry + 24:entry + 28] = (info.file_size + 7).to_bytes(4, "little")
    content[info.header_offset + 22:info.header_offset + 26] = (info.file_size + 7).to_bytes(4, "little")
    saved.write_bytes(bytes(content))
    with pytest.raises(ModelFileError, match=rf"layer1.weights.npy holds {info.file_size} bytes, "
                                             rf"the zip directory says {info.file_size + 7}"):
        load_model(saved)


def test_sizes_changed_in_the_zip_directory_alone_disagree_with_the_local_header(saved):
    content = saved.read_bytes()
    info = member_info(content, "layer1.weights.npy")
    content = flip_a_value_byte(content, "layer1.weights.npy")
    saved.write_bytes(record_member(content, "layer1.weights.npy", size=info.file_size + 4,
                                    stored=info.compress_size + 4, local=False))
    with pytest.raises(ModelFileError, match=rf"'layer1.weights.npy': its local header says CRC {info.CRC:08x}, "
                                             rf"{info.compress_size} bytes stored, {info.file_size} in all; the zip "
                                             rf"directory says CRC {info.CRC:08x}, {info.compress_size + 4} stored"):
        load_model(saved)


def test_a_member_stretched_over_the_next_one_is_refused_as_overlapping(saved):
    content = saved.read_bytes()
    first, second, third = sorted((member_info(content, name) for name in members_of(saved)),
                                  key=lambda info: info.header_offset)[:3]
    # the first member's data, as both its records say, now runs over the whole second member
    stretch = third.header_offset - second.header_offset
    saved.write_bytes(record_member(content, first.filename, size=first.file_size + stretch,
                                    stored=first.compress_size + stretch))
    with pytest.raises(ModelFileError, match=rf"members '{first.filename}' and '{second.filename}' overlap"):
        load_model(saved)


class _Unseekable(io.RawIOBase):
    """A file zipfile cannot seek back in, so that it writes each member's CRC and sizes after its data."""

    def __init__(self, file):
        self.file = file

    def writable(self):
        return True

    def write(self, data):
        return self.file.write(data)


@pytest.mark.parametrize("layout", ["deflated", "data descriptors"])
def test_a_sound_file_in_another_zip_layout_still_loads(tmp_path, layout):
    network, x = trained(every_layer_network("float32"))
    save_model(network, tmp_path / "model.npz")
    members = members_of(tmp_path / "model.npz")
    if layout == "deflated":
        write_archive(tmp_path / "model.npz", members, zipfile.ZIP_DEFLATED)
    else:  # as a zip written to a pipe has it: the local headers' CRC and sizes are zero
        with open(tmp_path / "model.npz", "wb") as file, zipfile.ZipFile(_Unseekable(file), "w") as archive:
            for name, data in members.items():
                with archive.open(name, "w") as member:
                    member.write(data)
        assert all(info.flag_bits & 0x08 for info in zipfile.ZipFile(tmp_path / "model.npz").infolist())
    np.testing.assert_array_equal(load_model(tmp_path / "model.npz").predict(x), network.predict(x))


# -- what is not a regular file: refused before anything is read ----------------------------
def _evaluate(path, timeout=60):
    """``batchnet evaluate PATH`` in a process of its own: a load that blocks shows as a timeout."""
    return subprocess.run([sys.executable, "-m", "batchnet", "evaluate", str(path)],
                          capture_output=True, text=True, timeout=timeout)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "model.npz")
    result = _evaluate(tmp_path / "model.npz")
    assert result.returncode == 1
    assert result.stderr == (f"batchnet evaluate: {tmp_path / 'model.npz'}: a FIFO (named pipe), not a batchnet "
                             "model file (a regular .npz file)\n")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_dev_zero_is_refused_without_reading_it():
    result = _evaluate("/dev/zero")
    assert result.returncode == 1
    assert result.stderr == "batchnet evaluate: /dev/zero: a character device, not a batchnet model file (a regular .npz file)\n"


def test_a_fifo_put_in_place_after_the_check_is_refused_by_what_was_opened(tmp_path):
    # os.stat sees a regular file, then the path is a FIFO: the open must not block, and fstat must see it
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    child = """if True:
        import os, sys
        from batchnet.saving import archive
        real_stat = os.stat
        regular = real_stat(sys.executable)
        os.stat = lambda path, *args, **kwargs: regular if str(path) == sys.argv[1] else real_stat(path, *args, **kwargs)
        from batchnet.saving.model_file import ModelFileError, load_model
        try:
            load_model(sys.argv[1])
        except ModelFileError as error:
            print(error)
    """
    result = subprocess.run([sys.executable, "-c", child, str(fifo)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{fifo}: a FIFO (named pipe), not a batchnet model file (a regular .npz file)\n"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_evaluate_says_in_one_line_which_layer_is_over_the_budget(tmp_path):
    path = write_model_file(tmp_path / "model.npz", [conv(padding=[3000, 3000])], (28, 28, 1), arrays=conv_arrays())
    result = _evaluate(path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"batchnet evaluate: {path}: layer 0 (ConvolutionalLayer) would hold 1.89 GiB")
    assert result.stderr.count("\n") == 1


# -- the estimate behind the budget ---------------------------------------------------------
def test_an_fc_network_can_be_saved_and_loaded_near_the_bound_of_its_input(tmp_path):
    network = NeuralNetwork().add(FCLayer(2)).add(ActivationLayer(relu, relu_prime)).use(mse, mse_prime)
    network.predict(np.zeros((1, 4096, 4096), np.float32))  # 16M features, 64 MiB a sample
    save_model(network, tmp_path / "model.npz")
    assert load_model(tmp_path / "model.npz").sample_shape == (4096, 4096, 1)


def test_a_convolution_that_cannot_take_its_input_is_refused_as_its_forward_would_word_it(tmp_path):
    path = write_model_file(tmp_path / "model.npz", [{"type": "FlattenLayer"}, conv()], (28, 28, 1))
    with pytest.raises(ModelFileError, match=r"the saved layers do not fit together \(ConvolutionalLayer: expected "
                                             r"input \(N, H, W, C\), got shape \(1, 784\)\)"):
        load_model(path)


def test_nothing_is_read_when_a_layer_is_over_the_budget(tmp_path):
    arrays = conv_arrays()
    path = write_model_file(tmp_path / "model.npz", [conv(padding=[3000, 3000])], (28, 28, 1), arrays=arrays)
    write_archive(path, {**members_of(path), "layer0.weights.npy": npy_bytes(np.zeros((3, 3, 1, 4), np.float64))})
    # a wrong dtype in the weights would be refused by their header: the budget is checked first
    with pytest.raises(ModelFileError, match="would hold 1.89 GiB"):
        load_model(path)


def test_a_layer_built_by_hand_with_a_stride_too_large_says_the_range():
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: stride must be at most 2147483647 \(2\*\*31 - 1"):
        ConvolutionalLayer(2, 3, stride=2**63)
