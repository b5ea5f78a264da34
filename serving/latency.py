"""Latency harness against any OpenAI-compatible endpoint: a prompt-length sweep with streaming.

Per length: time to first token (TTFT), per-output-token latency (the gaps between streamed
tokens), their p50/p95/p99, and throughput. Prompts are sized in the server's own tokens:
a probe request measures tokens per word, and every row records what the server counted. A
length the server refuses (beyond the model's context) ends the sweep and is recorded with the
reason, so the largest prompt actually reached is always stated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from schemas.tables import LatencyRun

PROBE_WORDS = 20
WORDS = "the lake keeps every table versioned so that any training run can be traced back to its raw files".split()


class LatencyConfig(BaseModel):
    base_url: str
    model: str = ""
    prompt_tokens: list[int] = Field(default_factory=lambda: [128, 1_024, 8_192, 32_768, 131_072, 200_000])
    requests_per_length: int = Field(5, ge=1)
    max_tokens: int = Field(32, ge=2)
    timeout_s: float = 600.0
    api_key_env: str | None = None
    gate_prompt_tokens: int = 200_000
    gate_p95_ms_per_token: float = 200.0


@dataclass
class StreamTiming:
    prompt_tokens: int
    ttft_ms: float
    gaps_ms: list[float]
    completion_tokens: int
    seconds: float


class Refused(RuntimeError):
    pass


def _post_stream(cfg: LatencyConfig, prompt: str) -> StreamTiming:
    body = json.dumps({"model": cfg.model, "prompt": prompt, "max_tokens": cfg.max_tokens, "temperature": 0, "stream": True,
                       "stream_options": {"include_usage": True}}).encode()
    headers = {"Content-Type": "application/json"}
    if cfg.api_key_env and os.environ.get(cfg.api_key_env):
        headers["Authorization"] = f"Bearer {os.environ[cfg.api_key_env]}"
    request = urllib.request.Request(cfg.base_url.rstrip("/") + "/completions", data=body, headers=headers)
    started = time.perf_counter()
    arrivals, usage = [], {}
    try:
        with urllib.request.urlopen(request, timeout=cfg.timeout_s) as response:
            for raw in response:
                line = raw.decode().strip()
                if not line.startswith("data:") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[5:])
                usage = chunk.get("usage") or usage
                if any((c.get("text") or (c.get("delta") or {}).get("content")) for c in chunk.get("choices", [])):
                    arrivals.append(time.perf_counter())
    except urllib.error.HTTPError as err:
        raise Refused(err.read().decode(errors="replace")[:300]) from None
    if not arrivals:
        raise Refused("the stream carried no tokens")
    gaps = list(np.diff(np.asarray(arrivals)) * 1000.0)
    return StreamTiming(int(usage.get("prompt_tokens", 0)), (arrivals[0] - started) * 1000.0, gaps,
                        int(usage.get("completion_tokens", len(arrivals))), time.perf_counter() - started)


def prompt_of(words: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(words))


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3) if values else 0.0


def sweep(cfg: LatencyConfig) -> list[LatencyRun]:
    words = PROBE_WORDS
    while True:  # a small model's context may not hold the probe: halve it until it fits
        try:
            probe = _post_stream(cfg, prompt_of(words))
            break
        except Refused:
            if words == 1:
                raise
            words //= 2
    tokens_per_word = max(probe.prompt_tokens, 1) / words
    started = dt.datetime.now(dt.timezone.utc)
    sweep_id = "lat-" + hashlib.sha256(f"{cfg.base_url}|{cfg.model}|{started.isoformat()}".encode()).hexdigest()[:12]
    rows = []
    for target in sorted(cfg.prompt_tokens):
        prompt = prompt_of(max(1, int(target / tokens_per_word)))
        timings, status = [], "ok"
        try:
            for _ in range(cfg.requests_per_length):
                timings.append(_post_stream(cfg, prompt))
        except Refused as err:
            status = f"refused: {err}"
        gaps = [g for t in timings for g in t.gaps_ms]
        ttfts = [t.ttft_ms for t in timings]
        seconds = sum(t.seconds for t in timings)
        rows.append(LatencyRun(
            sweep_id=sweep_id, endpoint=cfg.base_url, model=cfg.model, target_prompt_tokens=target,
            prompt_tokens=timings[0].prompt_tokens if timings else 0, requests=len(timings),
            completion_tokens=sum(t.completion_tokens for t in timings),
            ttft_p50_ms=_pct(ttfts, 50), ttft_p95_ms=_pct(ttfts, 95), ttft_p99_ms=_pct(ttfts, 99),
            tpot_p50_ms=_pct(gaps, 50), tpot_p95_ms=_pct(gaps, 95), tpot_p99_ms=_pct(gaps, 99),
            throughput_tokens_per_s=round(sum(t.completion_tokens for t in timings) / seconds, 3) if seconds else 0.0,
            status=status, measured_at=started))
        if status != "ok":
            break
    return rows


def gate(rows: list[LatencyRun], cfg: LatencyConfig) -> tuple[bool, str]:
    """(passed, the sentence to show): p95 per-token latency at the gate's prompt length."""
    reached = max((r.prompt_tokens for r in rows if r.status == "ok"), default=0)
    at_gate = [r for r in rows if r.status == "ok" and r.prompt_tokens >= cfg.gate_prompt_tokens]
    if not at_gate:
        return False, (f"not measured: the largest prompt reached was {reached:,} tokens, below the gate's "
                       f"{cfg.gate_prompt_tokens:,} (the model's context or the server refused longer prompts)")
    worst = max(r.tpot_p95_ms for r in at_gate)
    verdict = worst <= cfg.gate_p95_ms_per_token
    return verdict, (f"p95 per-token latency {worst:.1f} ms at {at_gate[0].prompt_tokens:,} prompt tokens "
                     f"{'≤' if verdict else '>'} {cfg.gate_p95_ms_per_token:.0f} ms")
