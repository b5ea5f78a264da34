"""Checkpoint evaluation: benchmarks from local files scored against an OpenAI-compatible
endpoint (code in a sandbox, math by self-consistency, multiple choice by log-likelihood),
synthetic long-context probes, contamination notes and the North Star scorecard."""
