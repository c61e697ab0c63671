"""Repeatable performance measurements: each prints our figure beside the plain library
doing the same work in the same run, and the ratio. Run with ``make bench`` or
``python -m benchmarks [name ...]``. Never asserted in tests."""
