"""Numerical gradients by central differences, to check backward passes.

Two checks, as Chainer and CS231n do. Element-wise: every entry of an array
is moved by +-epsilon in turn, ``dF/da_k ~ (F(a + h e_k) - F(a - h e_k)) / 2h``:
exact to O(h^2) per entry but two evaluations per entry, for small arrays.
Directional: the whole array moves along one random direction ``d``, and
``(F(a + h d) - F(a - h d)) / 2h`` must equal ``<dF/da, d>``: two evaluations
per array, for layers of any size.

A layer is checked through ``E = sum(output * G)`` for a fixed random ``G``,
so that ``dE/doutput = G`` is the error fed to ``backward``. Layers (batched
or reference) need ``forward_propagation``, ``backward``, ``parameters()`` and
``gradients``; networks also ``forward``, ``backward``, ``loss`` and
``loss_prime``. Arrays may live on any backend; they are perturbed in place
and restored exactly. Use float64: in float32 the differences drown in
rounding.
"""

import numpy as np

from backends import backend_for

DEFAULT_EPSILON = 1e-6


def to_host(array):
    """``array`` as a float64 NumPy array (a copy)."""
    return np.array(backend_for(array).to_numpy(array), dtype=np.float64)


def _flat_view(array):
    if not array.flags.c_contiguous:
        raise ValueError(f"gradient check: expected a C-contiguous array to perturb, got strides {array.strides}")
    return array.reshape(-1)


def numerical_gradient(function, array, epsilon=DEFAULT_EPSILON):
    """dF/d``array`` of the scalar ``F = function()``, entry by entry, as a float64 NumPy array.

    ``function`` takes no arguments and reads ``array``, which is perturbed in
    place and restored.
    """
    flat = _flat_view(array)
    gradient = np.zeros(flat.shape, dtype=np.float64)
    for index in range(flat.size):
        original = flat[index].copy()
        flat[index] = original + epsilon
        above = float(function())
        flat[index] = original - epsilon
        below = float(function())
        flat[index] = original
        gradient[index] = (above - below) / (2 * epsilon)
    return gradient.reshape(array.shape)


def directional_derivative(function, array, direction, epsilon=DEFAULT_EPSILON):
    """``(F(a + h d) - F(a - h d)) / 2h`` for ``a = array`` moved in place along ``direction``."""
    original = array.copy()
    step = direction * array.dtype.type(epsilon)
    array += step
    above = float(function())
    array[...] = original
    array -= step
    below = float(function())
    array[...] = original
    return (above - below) / (2 * epsilon)


def relative_error(analytic, numeric):
    """``max|a - n| / max(max|a|, max|n|)``: scale-free, and 0 when both are zero."""
    analytic, numeric = to_host(analytic), to_host(numeric)
    if analytic.shape != numeric.shape:
        raise ValueError(f"relative_error: shapes differ, {analytic.shape} vs {numeric.shape}")
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0))
    if scale == 0:
        return 0.0
    return float(np.abs(analytic - numeric).max() / scale)


def _random_like(array, rng):
    """A standard-normal array shaped and typed like ``array``, on its backend."""
    values = rng.standard_normal(array.shape).astype(array.dtype)
    return backend_for(array).asarray(values)


def _layer_arrays(layer, input_data):
    """The arrays a layer's loss depends on, by name: ``input`` and each parameter."""
    return {"input": input_data, **layer.parameters()}


def layer_gradients(layer, input_data, output_error):
    """Analytic gradients of ``E = sum(output * output_error)``: ``{"input": ..., name: ...}``."""
    layer.forward_propagation(input_data)
    input_error = layer.backward(output_error)
    gradients = {"input": to_host(input_error)}
    gradients.update({name: to_host(value) for name, value in layer.gradients.items()})
    return gradients


def numerical_layer_gradients(layer, input_data, output_error, epsilon=DEFAULT_EPSILON):
    """The same gradients as :func:`layer_gradients`, by element-wise central differences."""
    layer.forward_propagation(input_data)

    def loss():
        return (layer.forward_propagation(input_data) * output_error).sum()

    return {
        name: numerical_gradient(loss, array, epsilon)
        for name, array in _layer_arrays(layer, input_data).items()
    }


def network_gradients(network, x, y):
    """Analytic gradients of ``network.loss(y, forward(x))``: ``{"input": ..., "<i>.<name>": ...}``."""
    output = network.forward(x)
    input_error = network.backward(network.loss_prime(y, output))
    gradients = {"input": to_host(input_error)}
    for index, layer in enumerate(network.layers):
        gradients.update({f"{index}.{name}": to_host(value) for name, value in layer.gradients.items()})
    return gradients


def _network_arrays(network, x):
    arrays = {"input": x}
    for index, layer in enumerate(network.layers):
        arrays.update({f"{index}.{name}": value for name, value in layer.parameters().items()})
    return arrays


def numerical_network_gradients(network, x, y, epsilon=DEFAULT_EPSILON):
    """The same gradients as :func:`network_gradients`, by element-wise central differences."""
    network.forward(x)

    def loss():
        return network.loss(y, network.forward(x))

    return {name: numerical_gradient(loss, array, epsilon)
            for name, array in _network_arrays(network, x).items()}


def _directional_errors(loss, arrays, gradients, rng, epsilon):
    errors = {}
    for name, array in arrays.items():
        direction = _random_like(array, rng)
        numeric = directional_derivative(loss, array, direction, epsilon)
        analytic = float(np.sum(gradients[name] * to_host(direction)))
        scale = max(abs(numeric), abs(analytic))
        errors[name] = 0.0 if scale == 0 else abs(numeric - analytic) / scale
    return errors


def check_layer(layer, input_data, rng=None, epsilon=DEFAULT_EPSILON, method="elementwise"):
    """Relative error of each analytic gradient against central differences, by array name.

    ``method`` is ``"elementwise"`` (every entry) or ``"directional"`` (one
    random direction per array, cheap for big layers). Errors around 1e-8 or
    below mean the backward pass is right (float64).
    """
    rng = np.random.default_rng(rng)
    layer.forward_propagation(input_data)
    output_error = _random_like(layer.output, rng)
    analytic = layer_gradients(layer, input_data, output_error)
    if method == "elementwise":
        numeric = numerical_layer_gradients(layer, input_data, output_error, epsilon)
        return {name: relative_error(analytic[name], numeric[name]) for name in numeric}
    if method == "directional":
        def loss():
            return (layer.forward_propagation(input_data) * output_error).sum()

        return _directional_errors(loss, _layer_arrays(layer, input_data), analytic, rng, epsilon)
    raise ValueError(f"check_layer: method must be 'elementwise' or 'directional', got {method!r}")


def check_network(network, x, y, rng=None, epsilon=DEFAULT_EPSILON, method="directional"):
    """Like :func:`check_layer` for a whole network and its loss; keys ``"input"`` and ``"<i>.<name>"``."""
    rng = np.random.default_rng(rng)
    analytic = network_gradients(network, x, y)
    if method == "elementwise":
        numeric = numerical_network_gradients(network, x, y, epsilon)
        return {name: relative_error(analytic[name], numeric[name]) for name in numeric}
    if method == "directional":
        def loss():
            return network.loss(y, network.forward(x))

        return _directional_errors(loss, _network_arrays(network, x), analytic, rng, epsilon)
    raise ValueError(f"check_network: method must be 'elementwise' or 'directional', got {method!r}")
