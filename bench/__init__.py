"""Benchmarks for fimble (run as scripts, e.g. `python bench/humaneval.py`)."""
