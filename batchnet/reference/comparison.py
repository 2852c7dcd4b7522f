"""The comparison of a batched layer with its per-sample reference, for ``batchnet check`` and the tests.

For inputs ``x`` and output errors ``g``, a batched layer must give the
reference's outputs and input errors row by row, and parameter gradients equal
to the SUM of the reference's per-sample gradients (the batched layers do not
divide by N; the losses do). ``run_reference`` runs the reference that way,
``run_batched`` the batched layer, both as NumPy arrays.

Unlike the rest of :mod:`batchnet.reference`, this module imports the batched
layers (it compares them with the oracle); the reference layers never import
it, so the oracle stays independent of what it checks.
"""

from typing import NamedTuple

import numpy as np

SAMPLES = 4  # samples per case in compare_with_reference


class Results(NamedTuple):
    """What a forward and a backward pass give: ``(N, ...)`` arrays and gradients by parameter name."""

    outputs: np.ndarray
    input_errors: np.ndarray
    gradients: dict


def run_reference(layer, inputs, output_errors):
    """The reference layer over ``inputs`` one sample at a time: outputs and input errors
    stacked over samples, parameter gradients summed."""
    outputs, input_errors, gradients = [], [], {}
    for sample, sample_error in zip(inputs, output_errors):
        outputs.append(layer.forward_propagation(sample))
        input_errors.append(layer.backward(sample_error))
        for name, gradient in layer.gradients.items():
            gradients[name] = gradients.get(name, 0) + gradient
    return Results(np.stack(outputs), np.stack(input_errors), gradients)


def run_batched(layer, backend, inputs, output_errors):
    """The batched layer over the whole batch on ``backend``, its results copied to NumPy."""
    layer.bind(backend)
    outputs = layer.forward_propagation(backend.asarray(inputs))
    input_errors = layer.backward(backend.asarray(output_errors))
    gradients = {name: backend.to_numpy(value) for name, value in layer.gradients.items()}
    return Results(backend.to_numpy(outputs), backend.to_numpy(input_errors), gradients)


def reference_cases():
    """``(description, batched layer, reference layer, sample shape)`` for every layer type.

    Odd sizes, strides above 1, rectangular kernels and padding, so an index
    mix-up cannot hide behind symmetry.
    """
    from batchnet import activations, layers, reference

    cases = [
        ("FCLayer(7)", layers.FCLayer(7), reference.FCLayer(7), (13,)),
        ("FlattenLayer()", layers.FlattenLayer(), reference.FlattenLayer(), (5, 4, 3)),
    ]
    for name in ("tanh", "sigmoid", "relu", "softmax"):
        cases.append((
            f"ActivationLayer({name})",
            layers.ActivationLayer(getattr(activations, name), getattr(activations, f"{name}_prime")),
            reference.ActivationLayer(getattr(reference, name), getattr(reference, f"{name}_prime")),
            (11,),
        ))
    convolution = {"filters_count": 4, "filter_shape": (3, 2), "padding": (1, 2), "stride": (2, 1)}
    geometry = "4 filters 3x2, padding (1, 2), stride (2, 1)"
    cases.append((f"ConvolutionalLayer {geometry}", layers.ConvolutionalLayer(**convolution),
                  reference.ConvolutionalLayer(**convolution), (9, 8, 3)))
    try:
        windows = reference.WindowsConvolutionalLayer(**convolution)
    except ImportError:
        windows = None
    if windows is not None:
        cases.append(("ConvolutionalLayer (same) vs WindowsConvolutionalLayer",
                      layers.ConvolutionalLayer(**convolution), windows, (9, 8, 3)))
    pooling = {"pool_shape": (3, 2), "stride": (2, 1), "padding": (1, 1)}
    for layer in ("MaxPoolingLayer", "AveragePoolingLayer"):
        cases.append((f"{layer} 3x2, padding (1, 1), stride (2, 1)", getattr(layers, layer)(**pooling),
                      getattr(reference, layer)(**pooling), (7, 6, 2)))
    return cases


def compare_with_reference(batched, reference_layer, sample_shape, backend, dtype, rng):
    """Largest absolute difference between the batched layer and the reference run sample by sample,
    over the outputs, the input errors and the parameter gradients, on ``SAMPLES`` random samples.

    The batched layer draws its weights from ``rng``; the reference gets a copy of them.
    """
    inputs = rng.standard_normal((SAMPLES, *sample_shape)).astype(dtype)
    # the first forward pass draws the weights (from rng, after the inputs and before the
    # output errors) and gives the shape of the output errors to draw
    output_shape = batched.bind(backend, rng).forward_propagation(backend.asarray(inputs)).shape
    output_errors = rng.standard_normal(output_shape).astype(dtype)
    actual = run_batched(batched, backend, inputs, output_errors)
    for name, parameter in batched.parameters().items():
        setattr(reference_layer, name, backend.to_numpy(parameter).copy())
    expected = run_reference(reference_layer, inputs, output_errors)
    largest = max(largest_difference(expected.outputs, actual.outputs),
                  largest_difference(expected.input_errors, actual.input_errors))
    for name, gradient in actual.gradients.items():
        largest = max(largest, largest_difference(expected.gradients[name], gradient))
    return largest


def largest_difference(expected, actual):
    """``max |expected - actual|`` in float64; infinite when the shapes differ."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    if expected.shape != actual.shape:
        return float("inf")
    return float(np.abs(expected.astype(np.float64) - actual.astype(np.float64)).max())
