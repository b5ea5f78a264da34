"""The local endpoint's echo log-probabilities, read by the harness's client, equal the model's
own log p(continuation | context); a prompt beyond the model's positions is refused, not cut."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from schemas.settings import EvalSettings
from serving.code_runner import sandbox_runner
from serving.endpoint import serve
from serving.generation import load
from tests.assets.test_checkpoint_evals import tiny_checkpoint
from training.evals.client import CompletionClient, Refused
from training.evals.contamination import ContaminationIndex
from training.evals.suite import run_suite

FILES = Path(__file__).parent / "eval_files"


def models_loglikelihood(model, context: str, continuation: str) -> float:
    """log p(continuation | context) computed by the model in this process."""
    ids, prefix = model.encode(context + continuation), model.encode(context)
    assert ids[:len(prefix)] == prefix  # the continuation's tokens are exactly the tail
    with torch.no_grad():
        logp = torch.log_softmax(model.model(input_ids=torch.tensor([ids])).logits[0].float(), -1)
    return sum(float(logp[i - 1, ids[i]]) for i in range(len(prefix), len(ids)))


def test_loglikelihood_over_http_is_the_models_own(tmp_path):
    tiny_checkpoint(tmp_path)
    folder = tmp_path / "ckpts" / "run-tiny" / "checkpoints" / "step-000001"
    model = load(str(folder))
    context, continuation = "def f1(x):\n    return x * 1 +", " the access code"
    expected = models_loglikelihood(model, context, continuation)

    endpoint = serve(str(folder))
    try:
        client = CompletionClient(endpoint.base_url)
        assert client.loglikelihood(context, continuation) == pytest.approx(expected, abs=1e-4)
        with pytest.raises(Refused, match="exceeds the model's 256 positions"):
            client.loglikelihood("word " * 400, " more")
        a = client.complete("def f1(x):", 6, 0.9, seed=5).text
        assert a == client.complete("def f1(x):", 6, 0.9, seed=5).text  # a seeded sample is the same sample
    finally:
        endpoint.close()


def plain_hf_checkpoint(folder: Path) -> Path:
    """A tiny Llama with a byte-level BPE tokenizer of its own, saved as any HF folder is (no irm marker)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(["def f(x):\n    return x + 1\n", "the access code is 4242", "Question: what is 2 + 2? Answer: 4"] * 20,
                            vocab_size=300, min_frequency=1, special_tokens=["<eos>"])
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token="<eos>")
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128,
                                         eos_token_id=tok.eos_token_id))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_a_plain_hf_checkpoint_is_read_with_its_own_tokenizer_and_scored_over_http(tmp_path):
    folder = plain_hf_checkpoint(tmp_path / "plain")
    model = load(str(folder))
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    context, continuation = "the access code is", " 4242"
    assert model.encode(context) == tok.encode(context, add_special_tokens=False) and model.decode(model.encode(context)) == context
    expected = models_loglikelihood(model, context, continuation)
    endpoint = serve(str(folder))
    try:
        client = CompletionClient(endpoint.base_url)
        assert client.loglikelihood(context, continuation) == pytest.approx(expected, abs=1e-4)
        with pytest.raises(Refused, match="exceeds the model's 128 positions"):
            client.loglikelihood("the access code " * 100, " more")
        assert client.complete("def f(x):", 4, 0.0, seed=1).text == client.complete("def f(x):", 4, 0.0, seed=1).text
    finally:
        endpoint.close()


def _endpoint_process(folder: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    proc = subprocess.Popen([sys.executable, "-m", "serving.endpoint", str(folder), "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("serving "):
            return proc, f"http://127.0.0.1:{port}/v1"
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"the endpoint process did not start: {line}")


@pytest.mark.slow
def test_the_same_checkpoint_and_seed_give_the_same_numbers_from_two_server_processes(tmp_path):
    tiny_checkpoint(tmp_path)
    folder = tmp_path / "ckpts" / "run-tiny" / "checkpoints" / "step-000001"
    cfg = EvalSettings(benchmark_files={"gsm8k": str(FILES / "gsm8k.jsonl"), "mmlu": str(FILES / "mmlu.parquet")}, max_items=2, samples=2,
                       exec_guided_samples=2, self_consistency_k=3, max_tokens=8, seed=13, probe_lengths=[48], probe_depths=[0.5])

    def once(run: int):
        proc, url = _endpoint_process(folder)
        try:
            report, items = run_suite("run-tiny.step-000001", cfg, CompletionClient(url), sandbox_runner(), tmp_path / f"plots-{run}",
                                      ContaminationIndex())
        finally:
            proc.kill()
            proc.wait()
        return sorted((r.eval_id, r.metric, r.value, r.n) for r in report.results), sorted((i.item_id, i.sample_no, i.seed, i.output) for i in items)

    first, second = once(1), once(2)
    assert first == second
    outputs = [o for *_, o in first[1]]
    assert len(set(outputs)) > 1  # sampled text, not one constant answer
