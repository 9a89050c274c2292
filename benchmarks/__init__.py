"""Benchmark scripts: each prints figures; none asserts timings (see docs/TEAM.md)."""
