"""PNG figures of a training run: learning curves, confusion matrix, misclassified images.

matplotlib is an optional extra (``pip install 'batchnet[plot]'``). Figures are
drawn with the Agg canvas directly, so no GUI backend and no pyplot global
state are involved.
"""

from pathlib import Path

import numpy as np

INSTALL_HINT = "plotting needs matplotlib: pip install 'batchnet[plot]' (or pip install matplotlib)"


def require_matplotlib():
    """Raise ImportError with the install command when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(INSTALL_HINT) from None


def _figure(width, height):
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def plot_learning_curves(history, path):
    """Loss and accuracy per epoch, training and validation (whichever were recorded)."""
    figure = _figure(10, 4)
    from matplotlib.ticker import MaxNLocator

    for index, metric in enumerate(("loss", "accuracy")):
        axes = figure.add_subplot(1, 2, index + 1)
        for prefix, label in (("", "training"), ("val_", "validation")):
            values = history.history.get(prefix + metric)
            if values:
                axes.plot(history.epoch[:len(values)], values, marker="o", label=label)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(metric)
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend()
    figure.tight_layout()
    return _save(figure, path)


def confusion_matrix(labels, predictions, classes):
    """``matrix[true, predicted]`` counts."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def plot_confusion_matrix(labels, predictions, class_names, path):
    """The confusion matrix as a heat map with the counts written in each cell."""
    matrix = confusion_matrix(labels, predictions, len(class_names))
    figure = _figure(7, 6)
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    ticks = np.arange(len(class_names))
    axes.set_xticks(ticks, labels=class_names, rotation=45, ha="right")
    axes.set_yticks(ticks, labels=class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    accuracy = np.trace(matrix) / max(1, matrix.sum())
    axes.set_title(f"confusion matrix (accuracy {accuracy:.4f})")
    threshold = matrix.max() / 2
    for (true, predicted), count in np.ndenumerate(matrix):
        axes.text(predicted, true, str(count), ha="center", va="center", fontsize=7,
                  color="white" if count > threshold else "black")
    figure.tight_layout()
    return _save(figure, path)


def plot_misclassified(images, labels, predictions, class_names, path, count=25):
    """A grid of the first ``count`` misclassified images, titled "true -> predicted"."""
    wrong = np.flatnonzero(labels != predictions)[:count]
    columns = 5
    rows = max(1, -(-len(wrong) // columns))
    figure = _figure(2 * columns, 2.2 * rows)
    if len(wrong) == 0:
        figure.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
    for position, index in enumerate(wrong):
        axes = figure.add_subplot(rows, columns, position + 1)
        axes.imshow(np.squeeze(images[index]), cmap="gray_r", vmin=0, vmax=1)
        axes.set_title(f"{class_names[labels[index]]} -> {class_names[predictions[index]]}", fontsize=8)
        axes.axis("off")
    mistakes = int((labels != predictions).sum())
    figure.suptitle(f"misclassified (true -> predicted): {mistakes} of {len(labels)}")
    figure.tight_layout()
    return _save(figure, path)
