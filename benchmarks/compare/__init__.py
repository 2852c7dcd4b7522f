"""Scripts that measure batchnet against PyTorch, and the GPU session; not asv suites (see README.md here).

Run them as modules from the repository root: ``python -m benchmarks.compare.compare_torch``.
"""
