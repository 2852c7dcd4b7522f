"""One library's worker process for ``compare_peers.py``, run by that library's own Python.

``python -m benchmarks.compare.peer_worker --probe LIBRARY`` (from the
repository root) prints the library's version (or fails);
``python -m benchmarks.compare.peer_worker LIBRARY NETWORK BATCH THREADS STEPS OPTIMIZER``
builds one runner (``runner_<library>.py``), prints ``ready {json}`` (version
and parameter count), then answers each ``train`` / ``predict`` line on stdin
with the seconds it took.

Every worker is confined to its first THREADS CPUs (``sched_setaffinity``)
before the library is imported, and also told THREADS in the library's own
way (batchnet ``threads=``, ``torch.set_num_threads``, TensorFlow's intra- and
inter-op pools, XLA's ``intra_op_parallelism_threads``): the one limit that
binds every thread pool alike, whatever it is called. In one process the
libraries would share an allocator and their pools would meet; apart, each
runs as it would for its users. Every worker runs as a module from the
repository root, which puts this checkout on ``sys.path``; only the batchnet
worker imports batchnet.
"""

import importlib
import json
import os
import sys

LIBRARIES = ("batchnet", "torch", "tensorflow", "jax")


def confine(library, threads):
    """Limit this process to ``threads`` CPUs before ``library`` starts its thread pools."""
    if hasattr(os, "sched_setaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, allowed[:threads])
    if library == "tensorflow":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if library == "jax":
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        if threads == 1:
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                       " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


def runner_module(library):
    if library not in LIBRARIES:
        raise SystemExit(f"peer_worker: expected a library among {LIBRARIES}, got {library!r}")
    return importlib.import_module(f"benchmarks.compare.runner_{library}")


def serve(library, network, batch_size, threads, steps, optimizer):
    confine(library, threads)
    module = runner_module(library)
    if library == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    from benchmarks.compare.peer_common import synthetic_data

    x, one_hot, labels = synthetic_data(network, steps * batch_size)
    runner = module.Runner(network, x, one_hot, labels, batch_size, threads, optimizer)
    facts = {"version": module.library_version(), "parameters": runner.parameter_count()}
    print("ready " + json.dumps(facts), flush=True)
    for line in sys.stdin:
        task = line.strip()
        if task not in ("train", "predict"):
            raise SystemExit(f"peer_worker: expected 'train' or 'predict', got {task!r}")
        print(repr(getattr(runner, task)()), flush=True)


def main(argv):
    if len(argv) == 2 and argv[0] == "--probe":
        confine(argv[1], len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
        print(runner_module(argv[1]).library_version())
        return
    if len(argv) != 6:
        raise SystemExit("usage: peer_worker.py LIBRARY NETWORK BATCH THREADS STEPS OPTIMIZER "
                         "| peer_worker.py --probe LIBRARY")
    library, network, batch_size, threads, steps, optimizer = argv
    serve(library, network, int(batch_size), int(threads), int(steps), optimizer)


if __name__ == "__main__":
    main(sys.argv[1:])
