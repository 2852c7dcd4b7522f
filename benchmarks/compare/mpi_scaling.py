"""How data-parallel training over MPI scales: measured on this machine, then on paper for 2-64 machines.

    python -m benchmarks.compare.mpi_scaling [--steps 20] [--ranks 1 2]     (from the repository root)

Measures (each rank with OPENBLAS_NUM_THREADS=1, through the mpiexec next to
this Python): steps/s of batchnet.models.standard_cnn (B in compare_torch.py, float32)
at a global batch of 128 with 1 and 2 ranks; the time of one MPI allreduce
for messages of 1 KB to 16 MB, from which
``t = 2 * latency + bytes / bandwidth`` (the ring cost at P = 2) gives the
latency (from the 1 KB message) and bandwidth (messages of 1 MB and more); and the compute time per sample with one rank.
Then, with the ring allreduce cost ``2(P-1)/P * bytes / bandwidth + 2(P-1) * latency``
for B's gradient, it prints for P machines the efficiency
``compute / (compute + allreduce)`` (no overlap assumed) and the per-machine
batch that keeps it at or above 80%. Between processes of one machine the
"network" is shared memory: the paper table holds for a cluster only with
that cluster's measured latency and bandwidth (``--latency-us``, ``--bandwidth-gbs``).
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GLOBAL_BATCH = 128
SIZES = [2**k for k in range(10, 25, 2)]  # 1 KB .. 16 MB


def mpiexec(ranks, *arguments):
    environment = os.environ | {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                                "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(ranks), sys.executable, "-m",
               "benchmarks.compare.mpi_scaling", *arguments]
    # run as a module from the repository root, as the other comparison scripts are
    done = subprocess.run(command, env=environment, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return [float(value) for value in done.stdout.split()]


def gradient_bytes(network):
    return sum(value.nbytes for layer in network.layers for value in layer.parameters().values())


def worker_steps(steps):
    """Rank 0 prints steps/s of the standard CNN at the global batch, then B's gradient bytes."""
    from mpi4py import MPI

    from batchnet.models import standard_cnn

    comm = MPI.COMM_WORLD
    rng = np.random.default_rng(0)
    x = rng.random((GLOBAL_BATCH * steps, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, len(x))]
    network = standard_cnn()
    # the first steps pay for allocations and the buffers' first use: not timed
    network.fit(x[:GLOBAL_BATCH * 2], y[:GLOBAL_BATCH * 2], epochs=1, batch_size=GLOBAL_BATCH, seed=0,
                verbose=0, optimizer="adam", learning_rate=1e-3, comm=comm)
    comm.Barrier()
    start = time.perf_counter()
    network.fit(x, y, epochs=1, batch_size=GLOBAL_BATCH, seed=0, verbose=0, optimizer="adam", learning_rate=1e-3, comm=comm)
    elapsed = comm.allreduce(time.perf_counter() - start, op=MPI.MAX)
    if comm.rank == 0:
        print(steps / elapsed, gradient_bytes(network))


def worker_allreduce(repeats):
    """Rank 0 prints the median seconds of one in-place float32 Allreduce for each size of SIZES."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    for size in SIZES:
        buffer = np.ones(size // 4, dtype=np.float32)
        times = []
        for _ in range(repeats + 2):
            comm.Barrier()
            start = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            times.append(comm.allreduce(time.perf_counter() - start, op=MPI.MAX))
        if comm.rank == 0:
            print(np.median(times[2:]))


def ring_allreduce_s(machines, message_bytes, latency_s, bandwidth):
    return 2 * (machines - 1) / machines * message_bytes / bandwidth + 2 * (machines - 1) * latency_s


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=30, help="allreduces per message size")
    parser.add_argument("--latency-us", type=float, help="use this latency instead of the measured one")
    parser.add_argument("--bandwidth-gbs", type=float, help="use this bandwidth (GB/s) instead of the measured one")
    parser.add_argument("--worker", choices=["steps", "allreduce"], help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker == "steps":
        return worker_steps(options.steps)
    if options.worker == "allreduce":
        return worker_allreduce(options.repeats)

    print(f"the standard CNN (standard_cnn, float32), global batch {GLOBAL_BATCH}, OPENBLAS_NUM_THREADS=1 per rank")
    rates = {}
    for ranks in options.ranks:
        rates[ranks], message_bytes = mpiexec(ranks, "--worker", "steps", "--steps", str(options.steps))
        print(f"  {ranks} rank(s): {rates[ranks]:.2f} steps/s  (x{rates[ranks] / rates[options.ranks[0]]:.2f})")
    compute_per_sample = 1 / (rates[1] * GLOBAL_BATCH) if 1 in rates else None
    print(f"  gradient per step: {message_bytes / 1e6:.2f} MB")

    times = mpiexec(2, "--worker", "allreduce", "--repeats", str(options.repeats))
    print("allreduce, 2 ranks, in place, float32 (median):")
    for size, seconds in zip(SIZES, times):
        print(f"  {size / 1024:>8.0f} KB  {seconds * 1e6:>9.1f} us  {size / seconds / 1e9:6.2f} GB/s")
    # latency from the smallest message (its bytes cost ~nothing), bandwidth from the
    # messages of 1 MB and more (a least-squares line is all large messages and hides the latency)
    measured_latency = times[0] / 2
    measured_bandwidth = float(np.median([size / max(seconds - 2 * measured_latency, 1e-9)
                                          for size, seconds in zip(SIZES, times) if size >= 2**20]))
    latency = options.latency_us * 1e-6 if options.latency_us else measured_latency
    bandwidth = options.bandwidth_gbs * 1e9 if options.bandwidth_gbs else measured_bandwidth
    print(f"latency {latency * 1e6:.1f} us, bandwidth {bandwidth / 1e9:.2f} GB/s"
          f"{' (given)' if options.latency_us or options.bandwidth_gbs else ' (measured, 2 ranks)'}")
    if compute_per_sample is None:
        return None
    print(f"compute per sample (1 rank): {compute_per_sample * 1e3:.3f} ms")
    print("on paper (ring allreduce of B's gradient, no overlap of compute and communication):")
    print(f"  {'P':>3}  {'allreduce ms':>12}  {'eff @128 global':>15}  {'eff @128/machine':>16}  {'batch/machine for 80%':>21}")
    for machines in (2, 4, 8, 16, 32, 64):
        communication = ring_allreduce_s(machines, message_bytes, latency, bandwidth)
        def efficiency(per_machine):
            compute = per_machine * compute_per_sample
            return compute / (compute + communication)
        # compute >= 4 * communication  <=>  efficiency >= 80%
        needed = int(np.ceil(4 * communication / compute_per_sample))
        print(f"  {machines:>3}  {communication * 1e3:>12.3f}  {efficiency(GLOBAL_BATCH / machines):>15.1%}  "
              f"{efficiency(GLOBAL_BATCH):>16.1%}  {needed:>21}")
    return None


if __name__ == "__main__":
    main()
