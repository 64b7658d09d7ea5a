"""Benchmark scripts (run them as files: `.venv/bin/python benchmarks/<name>.py`); a package only so
that they can share `benchmarks/_common.py`."""
