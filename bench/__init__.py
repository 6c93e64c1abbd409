"""Pushwire benchmarks: ``python -m bench [--quick] [--only NAME]`` writes bench/RESULTS.md."""
