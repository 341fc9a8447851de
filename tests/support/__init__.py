"""Helpers shared by the tests and benchmarks: brokers in subprocesses, a score-client stand-in."""
