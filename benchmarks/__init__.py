"""asv benchmarks for batchnet (see README.md here); suites live in ``bench_*.py``."""
