"""Benchmarks (``make bench`` = ``python -m bench``): one run writes ``bench/results.md``.

Nothing here is a test: the numbers are measured and reported, never asserted.
"""
