"""Checkpoint export, TensorRT-LLM build specs, latency harness, Tier-1 memory (issue 8)."""
