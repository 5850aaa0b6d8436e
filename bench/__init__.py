"""Benchmarks (``python -m bench.ingest``); data is generated on the fly into a temp dir."""
