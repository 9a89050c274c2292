"""Benchmark scripts: each prints figures (`make bench`); none asserts timings, which belong here, not in tests."""
