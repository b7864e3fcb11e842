"""Benchmarks: `python -m bench` runs them all and rewrites docs/BENCHMARKS.md (see bench/__main__.py)."""
