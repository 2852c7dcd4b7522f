"""History: the per-epoch figures of a ``fit``, Keras style."""


class History:
    """``history.history`` maps a metric name (``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy``) to its list of per-epoch values; ``epoch`` lists the epochs run.
    ``stopped_early`` says why training ended before its last epoch, if it did.
    """

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.stopped_early = None

    def record(self, epoch, metrics):
        self.epoch.append(epoch)
        for name, value in metrics.items():
            self.history.setdefault(name, []).append(float(value))

    def __getitem__(self, name):
        return self.history[name]

    def __len__(self):
        return len(self.epoch)

    def __repr__(self):
        last = {name: round(values[-1], 6) for name, values in self.history.items() if values}
        return f"History(epochs={len(self.epoch)}, last={last})"
