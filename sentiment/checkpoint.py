"""Any Hugging Face sequence-classification checkpoint, mapped to negative / neutral / positive.

The mapping comes from the checkpoint's own ``config.id2label``:

- names containing ``neg`` / ``neu`` / ``pos`` (``negative``, ``Neutral``, ``POS`` ...) map directly;
- star ratings (``1 star`` ... ``5 stars``) split around the middle: 1–2 negative, 3 neutral, 4–5 positive;
- generic ``LABEL_0``.. names: two labels are negative/positive, three are negative/neutral/positive (the
  convention of e.g. ``cardiffnlp/twitter-roberta-base-sentiment``), five are stars;
- anything else needs an explicit ``label_map``.

Example:
    >>> label_matrix({0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"}).tolist()
    [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    >>> label_matrix({0: "NEG", 1: "POS"}).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import numpy as np

from voxlens.core.errors import ModelError

LABELS = ("negative", "neutral", "positive")
_STARS = re.compile(r"^\s*(\d+)\s*(star|stars|\*)?\s*$")
_GENERIC = re.compile(r"^label_(\d+)$")


def _stars_to_label(stars: int, top: int) -> str:
    middle = (top + 1) / 2
    return "negative" if stars < middle else "positive" if stars > middle else "neutral"


def _infer(id2label: Mapping[int, str]) -> dict[int, str]:
    names = {int(i): str(name).strip().lower() for i, name in id2label.items()}
    mapped: dict[int, str] = {}
    for i, name in names.items():
        for label in LABELS:
            if label[:3] in name:
                mapped[i] = label
                break
    if len(mapped) == len(names):
        return mapped
    stars = {i: _STARS.match(name) for i, name in names.items()}
    if all(stars.values()):
        values = {i: int(m.group(1)) for i, m in stars.items()}
        top = max(values.values())
        return {i: _stars_to_label(v, top) for i, v in values.items()}
    generic = {i: _GENERIC.match(name) for i, name in names.items()}
    if all(generic.values()):
        order = sorted(names, key=lambda i: int(generic[i].group(1)))
        if len(order) == 2:
            return {order[0]: "negative", order[1]: "positive"}
        if len(order) == 3:
            return dict(zip(order, LABELS))
        if len(order) == 5:
            return {i: _stars_to_label(rank + 1, 5) for rank, i in enumerate(order)}
    raise ModelError(
        f"cannot map the checkpoint's labels {sorted(set(names.values()))} to negative/neutral/positive: "
        "pass label_map={'its label': 'negative' | 'neutral' | 'positive', ...}"
    )


def label_matrix(id2label: Mapping[int, str], label_map: Mapping[str, str] | None = None) -> np.ndarray:
    """A (n_labels, 3) 0/1 matrix: checkpoint probabilities @ matrix = negative/neutral/positive."""
    if label_map:
        lowered = {str(k).lower(): v for k, v in label_map.items()}
        try:
            mapped = {int(i): lowered[str(name).lower()] for i, name in id2label.items()}
        except KeyError as exc:
            raise ModelError(f"label_map has no entry for the checkpoint's label {exc.args[0]!r}") from exc
        if not set(mapped.values()) <= set(LABELS):
            raise ModelError(f"label_map values must be among {LABELS}")
    else:
        mapped = _infer(id2label)
    matrix = np.zeros((len(mapped), 3))
    for i, label in mapped.items():
        matrix[i, LABELS.index(label)] = 1.0
    return matrix


class CheckpointScorer:
    """Negative/neutral/positive probabilities from a sequence-classification checkpoint.

    Args:
        model: a hub name (resolved from the local cache only when offline) or a local directory.
        batch_size: texts per forward pass.
        max_length: tokens per text (longer sentences are truncated; long texts are split upstream).
        label_map: the checkpoint's label names mapped to ours, when ``id2label`` is not self-explaining.
    """

    def __init__(self, model: str, batch_size: int = 32, max_length: int = 256,
                 label_map: Mapping[str, str] | None = None) -> None:
        self.model = model
        self.batch_size = batch_size
        self.max_length = max_length
        self.label_map = label_map

    @property
    def name(self) -> str:
        return str(self.model)

    def _load(self) -> None:
        if getattr(self, "model_", None) is not None:
            return
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self.tokenizer_ = AutoTokenizer.from_pretrained(self.model)
            self.model_ = AutoModelForSequenceClassification.from_pretrained(self.model)
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot load sentiment checkpoint {self.model!r}: {exc}. Pass a local directory with "
                "config.json, weights and tokenizer files (no model hub is contacted offline)"
            ) from exc
        self.model_.eval()
        self.matrix_ = label_matrix(self.model_.config.id2label, self.label_map)
        self.torch_ = torch

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 3) probabilities in the order negative, neutral, positive."""
        self._load()
        torch = self.torch_
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), 3))
        order = np.argsort([len(t) for t in texts], kind="stable")[::-1]
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                index = order[start:start + self.batch_size]
                batch = self.tokenizer_([texts[i] for i in index], padding=True, truncation=True,
                                        max_length=self.max_length, return_tensors="pt")
                probs = torch.softmax(self.model_(**batch).logits.float(), dim=-1).numpy()
                out[index] = probs @ self.matrix_
        return out
