"""``batchnet check``: every batched layer against the per-sample reference, on the chosen backend.

The comparison itself is :mod:`batchnet.reference.comparison`; this command
runs its cases, prints one line per layer and fails (status 1) on a mismatch.
"""

import numpy as np

from batchnet.cli import arguments
from batchnet.cli.errors import CommandError
from batchnet.cli.loading import choose_backend

TOLERANCE = {"float64": 1e-9, "float32": 1e-3}


def add_parser(subparsers):
    parser = subparsers.add_parser("check", help="compare every batched layer with the per-sample reference")
    arguments.add_backend_arguments(parser, dtype_default="float64")
    parser.add_argument("--seed", type=arguments.non_negative_int, default=0)
    return parser


def run(args):
    from batchnet.reference.comparison import SAMPLES, compare_with_reference, reference_cases

    backend = choose_backend(args.backend)
    rng = np.random.default_rng(args.seed)
    tolerance = TOLERANCE[args.dtype]
    print(f"batched layers on {backend.name} ({args.dtype}) vs the per-sample reference, "
          f"{SAMPLES} random samples each; tolerance {tolerance:g}")
    failures = 0
    for description, batched, reference_layer, sample_shape in reference_cases():
        difference = compare_with_reference(batched, reference_layer, sample_shape, backend, args.dtype, rng)
        verdict = "ok" if difference <= tolerance else "MISMATCH"
        failures += verdict != "ok"
        print(f"  {description:<64}  largest difference {difference:.3e}  {verdict}")
    if failures:
        raise CommandError(f"{failures} layer(s) differ from the reference beyond {tolerance:g}")
    print("all layers agree with the reference")
