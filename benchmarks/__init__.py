"""govsim performance benchmarks: ``python -m benchmarks.run`` (see benchmarks/README in README.md)."""
