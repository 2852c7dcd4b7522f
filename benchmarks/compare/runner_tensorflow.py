"""TensorFlow's runner for ``compare_peers.py``: a Keras 3 model, trained by a ``tf.function`` step.

No ``model.fit``: one compiled step (``GradientTape``, the loss, the same
optimizer's ``apply_gradients``) called on each shuffled batch, as batchnet's
and PyTorch's loops do. NHWC, TensorFlow's own layout on the CPU. A's
convolution pads 1 on every side (``ZeroPadding2D`` then ``valid``): Keras'
``"same"`` at stride 2 would pad 0 before and 1 after, another network.
"""

import time

import numpy as np

from benchmarks.compare.peer_common import ADAM_BETAS, ADAM_EPSILON, CROSS_ENTROPY, INPUT_SHAPES, LEARNING_RATES, shuffled_batches


def library_version():
    import tensorflow as tf

    return tf.__version__


def build(network):
    """The Keras twin of ``network`` and its loss."""
    import keras

    layers = keras.layers
    stack = [keras.Input(INPUT_SHAPES[network])]
    if network == "A":
        stack += [layers.ZeroPadding2D(1), layers.Conv2D(5, 3, strides=2, activation="tanh"),
                  layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(100, activation="tanh"),
                  layers.Dense(50, activation="tanh"), layers.Dense(10, activation="softmax")]
    elif network == "B":
        stack += [layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
                  layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
                  layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10)]
    else:
        stack += [layers.Dense(100, activation="tanh"), layers.Dense(50, activation="tanh"),
                  layers.Dense(10, activation="tanh")]
    model = keras.Sequential(stack)
    if CROSS_ENTROPY[network]:
        return model, keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return model, keras.losses.MeanSquaredError()


class Runner:
    def __init__(self, network, x, one_hot, labels, batch_size, threads, optimizer):
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(0)
        self.tf = tf
        self.model, loss = build(network)
        if optimizer == "adam":
            self.optimizer = keras.optimizers.Adam(LEARNING_RATES["adam"], beta_1=ADAM_BETAS[0],
                                                   beta_2=ADAM_BETAS[1], epsilon=ADAM_EPSILON)
        else:
            self.optimizer = keras.optimizers.SGD(LEARNING_RATES["sgd"])
        self.x = x
        self.y = labels.astype(np.int32) if CROSS_ENTROPY[network] else one_hot
        self.batch_size = batch_size
        self.rng = np.random.default_rng(0)
        model, variables = self.model, self.model.trainable_variables

        @tf.function
        def train_step(x_batch, y_batch):
            with tf.GradientTape() as tape:
                value = loss(y_batch, model(x_batch, training=True))
            self.optimizer.apply_gradients(zip(tape.gradient(value, variables), variables))

        @tf.function
        def forward(x_batch):
            return model(x_batch, training=False)

        self.train_step, self.forward = train_step, forward
        self._train(2 * batch_size)
        self.forward(tf.constant(x[:batch_size]))

    def parameter_count(self):
        return int(sum(np.prod(variable.shape) for variable in self.model.trainable_variables))

    def _train(self, samples):
        for rows in shuffled_batches(samples, self.batch_size, self.rng):
            self.train_step(self.tf.constant(self.x[rows]), self.tf.constant(self.y[rows]))

    def train(self):
        start = time.perf_counter()
        self._train(len(self.x))
        return time.perf_counter() - start

    def predict(self):
        start = time.perf_counter()
        outputs = [self.forward(self.tf.constant(self.x[row:row + self.batch_size])).numpy()
                   for row in range(0, len(self.x), self.batch_size)]
        np.concatenate(outputs)
        return time.perf_counter() - start
