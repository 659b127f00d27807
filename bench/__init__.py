"""Benchmarks of the worker against a real local ComfyUI (``python -m bench.overhead``)."""
