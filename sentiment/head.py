"""A softmax head over text representations: the last step of the MiniLM sentiment models.

Stored as ``head.npz`` + ``card.json`` (the frozen-MiniLM head), or read from a branch model's
``weights.npz`` (its ``head.*`` arrays); it runs in NumPy in fp32.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from voxlens.sentiment.artefact import read_artefact
from voxlens.sentiment.tuned import LABELS


class SentimentHead:
    """A softmax head over sentence embeddings, stored as ``head.npz`` + ``card.json``.

    Linear by default; with ``hidden_weight``/``hidden_bias`` it is a one-hidden-layer ReLU network
    (logits = relu(x·Wᵀ + b)·coefᵀ + intercept). Logits are divided by ``temperature`` (calibration).

    Example:
        >>> head = SentimentHead(np.eye(3, 4), np.zeros(3), ["negative", "neutral", "positive"])
        >>> head.predict_proba(np.array([[4.0, 0, 0, 0]])).astype(float).round(2).tolist()
        [[0.96, 0.02, 0.02]]
    """

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: Sequence[str],
                 temperature: float = 1.0, card: dict | None = None, hidden_weight: np.ndarray | None = None,
                 hidden_bias: np.ndarray | None = None) -> None:
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.classes = list(classes)
        self.temperature = float(temperature)
        self.card = card or {}
        self.hidden_weight = None if hidden_weight is None else np.asarray(hidden_weight, dtype=np.float32)
        self.hidden_bias = None if hidden_bias is None else np.asarray(hidden_bias, dtype=np.float32)

    @classmethod
    def load(cls, directory: str | Path) -> "SentimentHead":
        card, arrays = read_artefact(directory, "head.npz",
                                     f"no sentiment head in {directory}: run models/train_sentiment.py")
        arrays = dict(arrays)
        return cls(arrays["coef"], arrays["intercept"], card["classes"], card.get("temperature", 1.0), card,
                   arrays.get("hidden_weight"), arrays.get("hidden_bias"))

    @classmethod
    def from_branch(cls, directory: str | Path) -> "SentimentHead":
        """The head of a branch model artefact (``weights.npz``: ``head.*`` arrays, ``card.json``)."""
        card, arrays = read_artefact(directory, "weights.npz", f"no sentiment branch in {directory}")
        hidden = "head.hidden.weight" in arrays.files
        return cls(arrays["head.weight"], arrays["head.bias"], card["classes"], card.get("temperature", 1.0), card,
                   arrays["head.hidden.weight"] if hidden else None, arrays["head.hidden.bias"] if hidden else None)

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {"coef": self.coef, "intercept": self.intercept}
        if self.hidden_weight is not None:
            arrays.update(hidden_weight=self.hidden_weight, hidden_bias=self.hidden_bias)
        np.savez(directory / "head.npz", **arrays)
        card = {**self.card, "classes": self.classes, "temperature": self.temperature}
        (directory / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")

    def logits(self, embeddings: np.ndarray) -> np.ndarray:
        """Uncalibrated class scores in the order of :attr:`classes`."""
        x = np.asarray(embeddings, dtype=np.float32)
        if self.hidden_weight is not None:
            x = np.maximum(x @ self.hidden_weight.T + self.hidden_bias, 0.0)
        return x @ self.coef.T + self.intercept

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """Class probabilities in the order of :data:`LABELS`."""
        logits = self.logits(embeddings) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs[:, [self.classes.index(label) for label in LABELS]]
