"""What each rank runs in the MPI tests (tests/test_distributed*.py spawn it with mpiexec).

``python mpi_worker.py SCENARIO OUT_DIR [options]``; each rank writes its
results to ``OUT_DIR/rank<r>.npz``, so that the test compares every rank
with one process. The networks and data are built here, and the tests import
the same builders for their one-process reference.
"""

import argparse
import os
import signal
import sys

import numpy as np

from batchnet import (ActivationLayer, ConvolutionalLayer, DropoutLayer, FCLayer, FlattenLayer, MaxPoolingLayer,
                      NeuralNetwork, mse, mse_prime, one_hot, save_model, softmax_cross_entropy,
                      softmax_cross_entropy_prime, tanh, tanh_prime)


def make_data(kind, samples, seed=7):
    """Random inputs for ``kind`` ("dense", "dropout" or "conv") and one-hot targets of 3 classes, in float64."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, 6, 6, 2) if kind == "conv" else (samples, 5))
    return x, one_hot(rng.integers(0, 3, size=samples), 3).astype(np.float64)


def make_network(kind):
    network = NeuralNetwork(dtype="float64")
    if kind == "dropout":
        (network.add(FCLayer(7)).add(DropoutLayer(0.5)).add(ActivationLayer(tanh, tanh_prime)).add(FCLayer(3))
         .use(softmax_cross_entropy, softmax_cross_entropy_prime))
    elif kind == "dense":
        (network.add(FCLayer(7)).add(ActivationLayer(tanh, tanh_prime)).add(FCLayer(3))
         .use(softmax_cross_entropy, softmax_cross_entropy_prime))
    else:
        (network.add(ConvolutionalLayer(filters_count=3, filter_shape=(3, 3), padding=(1, 1)))
         .add(ActivationLayer(tanh, tanh_prime)).add(MaxPoolingLayer(pool_shape=(2, 2)))
         .add(FlattenLayer()).add(FCLayer(3)).add(ActivationLayer(tanh, tanh_prime))
         .use(mse, mse_prime))
    return network


def train(network, x, y, options, comm=None):
    return network.fit(x, y, epochs=options.epochs, batch_size=options.batch, seed=0, verbose=0,
                       optimizer=options.optimizer, learning_rate=0.05 if options.optimizer == "sgd" else 0.01,
                       shuffle=not options.no_shuffle, validation_split=options.validation_split, comm=comm)


def weights_of(network):
    return {f"layer{index}_{name}": np.asarray(value)
            for index, layer in enumerate(network.layers) for name, value in layer.parameters().items()}


def history_of(network):
    return {f"history_{name}": np.asarray(values) for name, values in network.history.history.items()}


def dying_loss(rank, how, after_calls):
    """``mse`` that ends this rank's process (``how``: "raise", "exit", "kill") at its ``after_calls``-th call."""
    calls = 0

    def loss(y_true, y_pred):
        nonlocal calls
        calls += 1
        if calls == after_calls and rank == 1:
            if how == "raise":
                raise RuntimeError("rank 1 fails on purpose")
            if how == "exit":
                os._exit(3)
            os.kill(os.getpid(), signal.SIGKILL)
        return mse(y_true, y_pred)

    loss.__name__ = "mse"
    return loss


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["train", "evaluate", "raise", "exit", "kill"])
    parser.add_argument("out")
    parser.add_argument("--kind", default="dense")
    parser.add_argument("--samples", type=int, default=21)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--optimizer", default="sgd")
    parser.add_argument("--no-shuffle", action="store_true")
    parser.add_argument("--validation-split", type=float, default=0.0)
    options = parser.parse_args(argv)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    x, y = make_data(options.kind, options.samples)
    network = make_network(options.kind)
    if options.scenario in ("raise", "exit", "kill"):
        network.use(dying_loss(comm.rank, options.scenario, after_calls=3), mse_prime)
        train(network, x, y, options, comm)
        if comm.rank == 0:
            save_model(network, os.path.join(options.out, "model.npz"))
        return
    train(network, x, y, options, comm)
    results = weights_of(network) | history_of(network)
    if options.scenario == "evaluate":
        # the reference is this same rank running the whole data alone, with the same weights
        results |= {"gathered_predict": network.predict(x, batch_size=3, comm=comm),
                    "alone_predict": network.predict(x, batch_size=3)}
        gathered, alone = network.evaluate(x, y, batch_size=3, comm=comm), network.evaluate(x, y, batch_size=3)
        results |= {f"gathered_{k}": v for k, v in gathered.items()} | {f"alone_{k}": v for k, v in alone.items()}
    np.savez(os.path.join(options.out, f"rank{comm.rank}.npz"), **results)


if __name__ == "__main__":
    main(sys.argv[1:])
