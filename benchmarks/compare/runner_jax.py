"""JAX's runner for ``compare_peers.py``: a hand-written NHWC network, jitted, with SGD and Adam written out.

No Flax, no optax: the parameters are a list of ``(weights, bias)`` pairs in
batchnet's layouts (conv ``(KH, KW, C_in, F)``, dense ``(in, out)``), the
convolution is ``lax.conv_general_dilated`` with explicit padding, max pooling
is ``lax.reduce_window``, and one jitted step computes the loss's gradient and
the update. Initial values are drawn as PyTorch's defaults do (uniform in
+-1/sqrt(fan_in)); the speed does not depend on them.
"""

import math
import time

import numpy as np

from benchmarks.compare.peer_common import ADAM_BETAS, ADAM_EPSILON, CROSS_ENTROPY, INPUT_SHAPES, LEARNING_RATES, shuffled_batches

# (kind, arguments) per layer; "conv": (filters, stride), "dense": units
LAYERS = {
    "A": [("conv", (5, 2)), ("tanh", None), ("pool", None), ("flatten", None), ("dense", 100),
          ("tanh", None), ("dense", 50), ("tanh", None), ("dense", 10), ("softmax", None)],
    "B": [("conv", (32, 1)), ("relu", None), ("pool", None), ("conv", (64, 1)), ("relu", None),
          ("pool", None), ("flatten", None), ("dense", 128), ("relu", None), ("dense", 10)],
    "C": [("dense", 100), ("tanh", None), ("dense", 50), ("tanh", None), ("dense", 10), ("tanh", None)],
}


def library_version():
    import jax

    return jax.__version__


def initial_parameters(network, rng):
    """``[(weights, bias), ...]`` for the conv and dense layers of ``network``, float32 NumPy."""
    shape, parameters = INPUT_SHAPES[network], []
    for kind, argument in LAYERS[network]:
        if kind == "conv":
            filters, stride = argument
            fan_in = 9 * shape[2]
            weight_shape, bias_shape = (3, 3, shape[2], filters), (filters,)
            side = [(size + 2 - 3) // stride + 1 for size in shape[:2]]
            shape = (side[0], side[1], filters)
        elif kind == "dense":
            fan_in = shape[0]
            weight_shape, bias_shape = (fan_in, argument), (argument,)
            shape = (argument,)
        else:
            if kind == "pool":
                shape = (shape[0] // 2, shape[1] // 2, shape[2])
            elif kind == "flatten":
                shape = (math.prod(shape),)
            continue
        bound = 1 / math.sqrt(fan_in)
        parameters.append(tuple(rng.uniform(-bound, bound, size).astype(np.float32)
                                for size in (weight_shape, bias_shape)))
    return parameters


def forward(network, parameters, x):
    import jax
    import jax.numpy as jnp
    from jax import lax

    layers = iter(parameters)
    for kind, argument in LAYERS[network]:
        if kind == "conv":
            weights, bias = next(layers)
            stride = argument[1]
            x = lax.conv_general_dilated(x, weights, (stride, stride), ((1, 1), (1, 1)),
                                         dimension_numbers=("NHWC", "HWIO", "NHWC")) + bias
        elif kind == "dense":
            weights, bias = next(layers)
            x = x @ weights + bias
        elif kind == "pool":
            x = lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif kind == "softmax":
            x = jax.nn.softmax(x, axis=1)
        else:
            x = getattr(jnp, kind)(x) if kind == "tanh" else jax.nn.relu(x)
    return x


def loss(network, parameters, x, y):
    """Mean softmax cross-entropy on class indices (B), or the mean squared error of every output (A, C)."""
    import jax
    import jax.numpy as jnp

    output = forward(network, parameters, x)
    if CROSS_ENTROPY[network]:
        log_probabilities = jax.nn.log_softmax(output, axis=1)
        return -jnp.mean(jnp.take_along_axis(log_probabilities, y[:, None], axis=1))
    return jnp.mean((output - y) ** 2)


def make_step(network, optimizer):
    """A jitted ``step(state, x, y) -> state``; the state holds the parameters (and Adam's moments)."""
    import jax
    import jax.numpy as jnp

    gradient_of = jax.grad(lambda parameters, x, y: loss(network, parameters, x, y))
    rate = LEARNING_RATES[optimizer]
    beta1, beta2 = ADAM_BETAS

    def sgd(state, x, y):
        gradients = gradient_of(state["parameters"], x, y)
        return {"parameters": jax.tree.map(lambda p, g: p - rate * g, state["parameters"], gradients)}

    def adam(state, x, y):
        # m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;  p <- p - lr_t m / (sqrt(v) + eps)
        gradients = gradient_of(state["parameters"], x, y)
        t = state["t"] + 1
        m = jax.tree.map(lambda m, g: beta1 * m + (1 - beta1) * g, state["m"], gradients)
        v = jax.tree.map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state["v"], gradients)
        step = rate * jnp.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        parameters = jax.tree.map(lambda p, m, v: p - step * m / (jnp.sqrt(v) + ADAM_EPSILON),
                                  state["parameters"], m, v)
        return {"parameters": parameters, "m": m, "v": v, "t": t}

    return jax.jit(adam if optimizer == "adam" else sgd)


class Runner:
    def __init__(self, network, x, one_hot, labels, batch_size, threads, optimizer):
        import jax
        import jax.numpy as jnp

        self.jax = jax
        parameters = [tuple(jnp.asarray(array) for array in pair)
                      for pair in initial_parameters(network, np.random.default_rng(0))]
        self.state = {"parameters": parameters}
        if optimizer == "adam":
            zeros = jax.tree.map(jnp.zeros_like, parameters)
            self.state.update(m=zeros, v=zeros, t=jnp.zeros((), jnp.float32))
        self.step = make_step(network, optimizer)
        self.forward = jax.jit(lambda parameters, x: forward(network, parameters, x))
        self.x = x
        self.y = labels.astype(np.int32) if CROSS_ENTROPY[network] else one_hot
        self.batch_size = batch_size
        self.rng = np.random.default_rng(0)
        self._train(2 * batch_size)
        self.forward(self.state["parameters"], x[:batch_size]).block_until_ready()

    def parameter_count(self):
        return sum(int(array.size) for array in self.jax.tree.leaves(self.state["parameters"]))

    def _train(self, samples):
        for rows in shuffled_batches(samples, self.batch_size, self.rng):
            self.state = self.step(self.state, self.x[rows], self.y[rows])
        self.jax.block_until_ready(self.state)

    def train(self):
        start = time.perf_counter()
        self._train(len(self.x))
        return time.perf_counter() - start

    def predict(self):
        start = time.perf_counter()
        outputs = [np.asarray(self.forward(self.state["parameters"], self.x[row:row + self.batch_size]))
                   for row in range(0, len(self.x), self.batch_size)]
        np.concatenate(outputs)
        return time.perf_counter() - start
