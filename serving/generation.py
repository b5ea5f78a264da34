"""A local HF checkpoint on CPU as a token stream: load, encode, generate with the KV cache.

irm checkpoints carry the SentencePiece ``tokenizer.model`` and use the reversible whitespace
transform (``irm_checkpoint.json`` marks them); any other HF folder uses its own tokenizer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch


@dataclass
class LoadedModel:
    name: str
    model: object
    encode: Callable[[str], list[int]]
    decode: Callable[[list[int]], str]
    eos_id: int | None
    max_positions: int
    lock: threading.Lock


def load(path: str, name: str | None = None) -> LoadedModel:
    from transformers import AutoModelForCausalLM

    folder = Path(path)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    if (folder / "irm_checkpoint.json").exists():
        import sentencepiece as spm

        from training.whitespace import decode, encode

        sp = spm.SentencePieceProcessor(model_file=str(folder / "tokenizer.model"))
        enc, dec, eos = (lambda t: sp.encode(encode(t))), (lambda ids: decode(sp.decode(ids))), sp.eos_id()
    else:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(folder)
        enc, dec, eos = (lambda t: tok.encode(t, add_special_tokens=False)), (lambda ids: tok.decode(ids)), tok.eos_token_id
    return LoadedModel(name or folder.name, model, enc, dec, eos, int(model.config.max_position_embeddings), threading.Lock())


def generate(m: LoadedModel, prompt_ids: list[int], max_tokens: int, temperature: float = 0.0, seed: int = 0) -> Iterator[int]:
    """Token ids one at a time (greedy at temperature 0, else seeded sampling), stopping at EOS."""
    generator = torch.Generator().manual_seed(seed)
    with m.lock, torch.no_grad():
        ids = torch.tensor([prompt_ids], dtype=torch.long)
        past = None
        for _ in range(max_tokens):
            out = m.model(input_ids=ids, past_key_values=past, use_cache=True)
            past = out.past_key_values
            logits = out.logits[0, -1]
            if temperature > 0:
                token = int(torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=generator))
            else:
                token = int(torch.argmax(logits))
            if token == m.eos_id:
                return
            yield token
            ids = torch.tensor([[token]], dtype=torch.long)


def prompt_logprobs(m: LoadedModel, prompt_ids: list[int]) -> list[float | None]:
    """log p(token_i | tokens before it) for every prompt token (None for the first): what a
    completions request with ``echo`` and ``logprobs`` returns, the basis of multiple-choice scoring."""
    with m.lock, torch.no_grad():
        logits = m.model(input_ids=torch.tensor([prompt_ids], dtype=torch.long)).logits[0].float()
        logp = torch.log_softmax(logits[:-1], -1).gather(1, torch.tensor(prompt_ids[1:], dtype=torch.long).unsqueeze(1)).squeeze(1)
    return [None, *(float(x) for x in logp)]
