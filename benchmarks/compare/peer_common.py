"""What batchnet's runner and every peer's runner share: the three networks' data, sizes and rates.

Imported by the worker processes of ``compare_peers.py``, some of which run in
a peer's own virtual environment: it needs NumPy and nothing else (no
batchnet, no peer).

The networks (those of ``compare_torch.py``), float32, NHWC unless a peer's
natural layout is NCHW:

- A, the tutorial's CNN: Conv(5, 3x3, stride 2, pad 1) -> tanh -> MaxPool 2 ->
  FC100 -> tanh -> FC50 -> tanh -> FC10 -> softmax, MSE;
- B, a standard small CNN: Conv(32, 3x3, pad 1) -> relu -> MaxPool 2 ->
  Conv(64, 3x3, pad 1) -> relu -> MaxPool 2 -> FC128 -> relu -> FC10,
  softmax cross-entropy on the logits;
- C, the tutorial's MLP: 784 -> 100 tanh -> 50 tanh -> 10 tanh, MSE.
"""

import numpy as np

NETWORKS = ("A", "B", "C")
CLASSES = 10
INPUT_SHAPES = {"A": (28, 28, 1), "B": (28, 28, 1), "C": (784,)}
# B is the one network trained on class indices (softmax cross-entropy); A and C fit one-hot rows
CROSS_ENTROPY = {"A": False, "B": True, "C": False}
LEARNING_RATES = {"sgd": 0.01, "adam": 0.001}
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8
# enough steps that one run lasts a few tenths of a second at batch 128 (as compare_torch.py)
DEFAULT_STEPS = {"A": 60, "B": 12, "C": 150}
# weights + biases of each network: every runner must report these, or it built something else
PARAMETER_COUNTS = {
    "A": (3 * 3 * 1 * 5 + 5) + (245 * 100 + 100) + (100 * 50 + 50) + (50 * 10 + 10),
    "B": (3 * 3 * 1 * 32 + 32) + (3 * 3 * 32 * 64 + 64) + (3136 * 128 + 128) + (128 * 10 + 10),
    "C": (784 * 100 + 100) + (100 * 50 + 50) + (50 * 10 + 10),
}


def synthetic_data(network, samples, seed=0):
    """Random MNIST-shaped inputs in [0, 1), one-hot targets and class labels (NumPy, float32)."""
    rng = np.random.default_rng(seed)
    x = rng.random((samples,) + INPUT_SHAPES[network], dtype=np.float32)
    labels = rng.integers(0, CLASSES, samples)
    return x, np.eye(CLASSES, dtype=np.float32)[labels], labels


def shuffled_batches(samples, batch_size, rng):
    """Row indices of each batch of one shuffled epoch (the last one may be short)."""
    order = rng.permutation(samples)
    return [order[start:start + batch_size] for start in range(0, samples, batch_size)]
