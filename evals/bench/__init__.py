"""Benchmarks behind ``connectus bench``: each brings up what it needs and prints one JSON
object with its figures and the ratios against a peer or a limit measured in the same run."""
