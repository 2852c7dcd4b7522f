"""The figures of an epoch or an evaluation: the mean loss, and the accuracy for one-hot targets.

The sums stay on the backend's device while the batches run and come to the
host once, at the end: reading a device scalar each step would wait for the
device each step.
"""


class RunningMetrics:
    """Sums of the per-sample loss and of the correct answers over the batches seen so far."""

    def __init__(self, backend, dtype, classification):
        self.backend = backend
        self.dtype = dtype
        self.classification = classification
        xp = backend.xp
        self.total_loss = xp.zeros((), dtype=dtype)
        self.correct = xp.zeros((), dtype=xp.int64)
        self.samples = 0

    def add(self, loss, y_batch, output):
        """Count one batch: ``loss(y_batch, output)`` is its mean loss."""
        self.total_loss += loss(y_batch, output) * len(y_batch)
        if self.classification:
            self.correct += count_correct(y_batch, output)
        self.samples += len(y_batch)

    def running_loss(self):
        """The mean loss so far, as a float (a device sync on the GPU)."""
        return float(self.total_loss) / self.samples

    def result(self):
        """``{"loss": ...}`` (and ``"accuracy"`` for one-hot targets) per sample, with a single transfer."""
        xp = self.backend.xp
        loss_sum, correct_sum = self.backend.to_numpy(
            xp.stack([self.total_loss, xp.asarray(self.correct, dtype=self.dtype)]))
        metrics = {"loss": float(loss_sum) / self.samples}
        if self.classification:
            metrics["accuracy"] = float(correct_sum) / self.samples
        return metrics


def count_correct(y_batch, output):
    """How many rows of ``output`` have their largest value where the one-hot ``y_batch`` has its 1."""
    return (output.argmax(axis=1) == y_batch.argmax(axis=1)).sum()


def format_metrics(metrics):
    return "  ".join(f"{name}={value:.4f}" for name, value in metrics.items())
