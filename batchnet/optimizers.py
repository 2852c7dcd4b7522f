"""Optimizers: how a layer's gradients become a parameter update.

Optimizer state (velocities, moments) lives here, keyed by layer and
parameter name, never on the layers; every update is done in place on the
backend's arrays so that nothing moves between host and device.
"""

import math
import numbers
import weakref


def _real(value, name, owner):
    """``value`` as a float, if it is a finite real number; else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    return float(value)


class Optimizer:
    """Base class: ``step(layers)`` updates every parameter from ``layer.gradients``."""

    def __init__(self, learning_rate, weight_decay=0.0):
        owner = type(self).__name__
        self.learning_rate = _real(learning_rate, "learning_rate", owner)
        self.weight_decay = _real(weight_decay, "weight_decay", owner)
        if not self.learning_rate > 0:
            raise ValueError(f"{owner}: learning_rate must be positive, got {learning_rate!r}")
        if self.weight_decay < 0:
            raise ValueError(f"{owner}: weight_decay must be >= 0, got {weight_decay!r}")
        # per layer, per parameter name: keyed by the layer itself (weakly, so the state of
        # a network that is gone goes too), never by id(), which a new layer can reuse
        self.state = weakref.WeakKeyDictionary()
        self.iterations = 0

    def step(self, layers):
        self.iterations += 1
        for layer in layers:
            for name, gradient in layer.gradients.items():
                parameter = getattr(layer, name)
                if self.weight_decay:
                    # L2 decay applies to weights only: decaying biases only hurts the fit
                    if name != "bias":
                        gradient = gradient + parameter.dtype.type(self.weight_decay) * parameter
                states = self.state.get(layer)
                if states is None:
                    states = self.state[layer] = {}
                state = states.get(name)
                if state is None:
                    state = states[name] = {}
                elif state:  # plain SGD keeps none: nothing to check, each step
                    _check_state_fits(state, parameter, layer, name)
                self.update(parameter, gradient, state)

    def update(self, parameter, gradient, state):
        raise NotImplementedError

    def move_state(self, source, target):
        """Copy every array of the state (velocities, moments) from backend ``source`` to ``target``."""
        for states in self.state.values():
            for state in states.values():
                for key, value in state.items():
                    if isinstance(value, source.xp.ndarray):
                        state[key] = target.asarray(source.to_numpy(value), dtype=value.dtype)

    def __repr__(self):
        options = ", ".join(f"{key}={value}" for key, value in self.config().items())
        return f"{type(self).__name__}({options})"

    def config(self):
        config = {"learning_rate": self.learning_rate}
        if self.weight_decay:
            config["weight_decay"] = self.weight_decay
        return config


def _check_state_fits(state, parameter, layer, name):
    """A layer rebuilt for other inputs (``reset_parameters``) cannot take its old velocities."""
    for key, value in state.items():
        if getattr(value, "shape", parameter.shape) != parameter.shape:
            raise ValueError(
                f"{layer.name}.{name}: the optimizer holds {key} of shape {value.shape} for a "
                f"parameter now of shape {parameter.shape}; use a new optimizer"
            )


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    v <- momentum * v - lr * g;  p <- p + v   (Nesterov: p <- p + momentum * v - lr * g)
    With ``momentum=0`` this is the tutorial's ``p -= lr * g``.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(learning_rate, weight_decay)
        self.momentum = _real(momentum, "momentum", "SGD")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.nesterov = bool(nesterov)

    def update(self, parameter, gradient, state):
        lr = parameter.dtype.type(self.learning_rate)
        if self.momentum == 0:
            parameter -= lr * gradient
            return
        momentum = parameter.dtype.type(self.momentum)
        velocity = state.get("velocity")
        if velocity is None:
            velocity = state["velocity"] = gradient * 0
        velocity *= momentum
        velocity -= lr * gradient
        if self.nesterov:
            parameter += momentum * velocity - lr * gradient
        else:
            parameter += velocity

    def config(self):
        config = super().config()
        if self.momentum:
            config["momentum"] = self.momentum
        if self.nesterov:
            config["nesterov"] = True
        return config


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015).

    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    p <- p - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay=0.0):
        super().__init__(learning_rate, weight_decay)
        self.beta1, self.beta2, self.epsilon = (_real(value, name, "Adam") for name, value in
                                                (("beta1", beta1), ("beta2", beta2), ("epsilon", epsilon)))
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= value < 1:
                raise ValueError(f"Adam: {name} must be in [0, 1), got {value!r}")
        if not self.epsilon > 0:
            raise ValueError(f"Adam: epsilon must be positive (it keeps the step finite), got {epsilon!r}")

    def update(self, parameter, gradient, state):
        dtype = parameter.dtype.type
        if "m" not in state:
            state["m"] = gradient * 0
            state["v"] = gradient * 0
            state["t"] = 0
        state["t"] += 1
        m, v, t = state["m"], state["v"], state["t"]
        m *= dtype(self.beta1)
        m += dtype(1 - self.beta1) * gradient
        v *= dtype(self.beta2)
        v += dtype(1 - self.beta2) * (gradient * gradient)
        step = self.learning_rate * math.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
        denominator = v ** dtype(0.5)
        denominator += dtype(self.epsilon)
        parameter -= dtype(step) * m / denominator

    def config(self):
        config = super().config()
        config.update(beta1=self.beta1, beta2=self.beta2, epsilon=self.epsilon)
        return config


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def get_optimizer(optimizer, learning_rate):
    """An optimizer from a name (``"sgd"``, ``"adam"``), an instance, or ``None`` (plain SGD).

    An instance brings its own learning rate: a different ``learning_rate`` beside it is
    refused rather than silently ignored (``None`` leaves the instance's).
    """
    if isinstance(optimizer, Optimizer):
        if learning_rate is not None and learning_rate != optimizer.learning_rate:
            raise ValueError(
                f"learning_rate={learning_rate!r} beside optimizer={optimizer!r}, which has its own: "
                "give one or the other"
            )
        return optimizer
    if learning_rate is None:
        raise ValueError(f"learning_rate is needed with optimizer={optimizer!r} "
                         "(only an Optimizer instance brings its own)")
    if optimizer is None:
        return SGD(learning_rate)
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()](learning_rate)
    raise ValueError(f"optimizer: expected one of {sorted(OPTIMIZERS)} or an Optimizer, got {optimizer!r}")
