"""What batchnet runs on here: versions, backends, kernels, BLAS and threads."""

import os
import platform
import sys


def config_report():
    """A dict describing the installation (what ``batchnet info`` prints)."""
    import numpy as np
    from threadpoolctl import threadpool_info

    import backends
    from backends.numpy_backend import extension_unavailable_reason

    report = {
        "batchnet": _version(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": np.__version__,
        "backends": {},
        "blas": [
            {key: info.get(key) for key in ("internal_api", "version", "architecture", "num_threads", "filepath")}
            for info in threadpool_info()
        ],
    }
    from batchnet.training.parallel import MIN_SHARD_ELEMENTS, default_threads

    report["cpu threads"] = {
        "default": default_threads(),
        "data-parallel shards": f"one per thread for batches of at least {MIN_SHARD_ELEMENTS} "
                                "layer-output elements per shard (NumPy backend)",
    }
    numpy_backend = backends.get_backend("numpy")
    report["backends"]["numpy"] = {
        "available": True,
        "kernels": numpy_backend.kernels(),
        "compiled extension": extension_unavailable_reason() or "built and in use",
    }
    cupy_reason = backends.cupy_unavailable_reason()
    report["backends"]["cupy"] = {"available": cupy_reason is None}
    if cupy_reason is None:
        cupy_backend = backends.get_backend("cupy")
        report["backends"]["cupy"]["device"] = cupy_backend.device()
        report["backends"]["cupy"]["kernels"] = cupy_backend.kernels()
    else:
        report["backends"]["cupy"]["reason"] = cupy_reason
    report["backends"]["default"] = _default_backend()
    return report


def _default_backend():
    """The backend ``NeuralNetwork()`` and the commands take without ``--backend``, and why."""
    import backends

    setting = os.environ.get("BATCHNET_BACKEND")
    source = "$BATCHNET_BACKEND is not set" if setting is None else f"$BATCHNET_BACKEND={setting!r}"
    try:
        return f"{backends.get_backend().name} ({source})"
    except ValueError as error:  # it names the variable and its value
        return f"none: {error}; NeuralNetwork() and the commands refuse it"
    except backends.BackendUnavailable as error:
        return f"none: {source}, but {error}"


def format_report(report, indent=0):
    lines = []
    for key, value in report.items():
        if isinstance(value, dict):
            lines.append(" " * indent + f"{key}:")
            lines.append(format_report(value, indent + 2))
        elif isinstance(value, list):
            lines.append(" " * indent + f"{key}:")
            for item in value:
                lines.append(" " * (indent + 2) + ", ".join(f"{k}={v}" for k, v in item.items()))
        else:
            lines.append(" " * indent + f"{key}: {value}")
    return "\n".join(lines)


def show_config():
    """Print versions, backends (and why one is unavailable), kernels in use, BLAS and threads."""
    print(format_report(config_report()))


def _version():
    from batchnet._version import __version__

    return __version__
