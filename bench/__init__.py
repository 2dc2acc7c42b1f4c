"""Benchmarks; numbers and commands are in docs/performance.md."""
