"""Benchmarks of edfs-mcp against baselines measured in the same run: ``python -m bench``."""
