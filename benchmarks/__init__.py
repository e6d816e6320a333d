"""Latency and throughput benchmarks (pytest-benchmark) and the learning yardsticks."""
