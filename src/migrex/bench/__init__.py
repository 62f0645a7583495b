"""Benchmarks: commands that print their figures as JSON."""
