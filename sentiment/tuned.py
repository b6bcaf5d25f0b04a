"""A store's own sentiment model: a logistic regression over what the default model already sees.

For each text: the length-weighted mean of the default model's representation of its pieces (the branch
model's pooled output for each window; for the earlier frozen-MiniLM head, the sentence embeddings; a
short text is one piece) and the log-probabilities the default model gives it (its pieces aggregated as
:class:`voxlens.sentiment.SentimentModel` aggregates them). A multinomial logistic regression over those
387 numbers, fitted on the store's rated items (``voxlens tune``), gives the probabilities. The artefact is
``tuned.npz`` (coefficients and intercepts) + ``card.json``, whose ``base`` names the model it builds on.

Example:
    >>> import numpy as np
    >>> from voxlens.sentiment.scorers import SentimentHead
    >>> base = SentimentHead(np.eye(3, 4), np.zeros(3), ["negative", "neutral", "positive"])
    >>> head = TunedHead(base, np.hstack([np.zeros((3, 4)), 2 * np.eye(3)]), np.zeros(3))
    >>> head.predict_proba(np.array([[4.0, 0, 0, 0]])).argmax(1).tolist()
    [0]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from voxlens.sentiment.artefact import read_artefact
from voxlens.sentiment.segments import fold, scoring_segments

LABELS = ("negative", "neutral", "positive")


def text_features(embeddings: np.ndarray, base_probs: np.ndarray) -> np.ndarray:
    """The tuned model's input: text embedding and the default head's log-probabilities, side by side."""
    return np.hstack([np.asarray(embeddings, dtype=np.float32),
                      np.log(np.clip(np.asarray(base_probs, dtype=np.float32), 1e-6, 1.0))])


class TunedHead:
    """Logistic regression over :func:`text_features` (``coef`` (3, d + 3), ``intercept`` (3,))."""

    def __init__(self, base, coef: np.ndarray, intercept: np.ndarray, card: dict | None = None) -> None:
        self.base = base
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.card = card or {}

    def proba_from_features(self, features: np.ndarray) -> np.ndarray:
        logits = features @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return probs / probs.sum(axis=1, keepdims=True)

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """Probabilities of short texts (one embedding each) in the order of :data:`LABELS`."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        return self.proba_from_features(text_features(embeddings, self.base.predict_proba(embeddings)))

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / "tuned.npz", coef=self.coef, intercept=self.intercept)
        card = {**self.card, "kind": "tuned", "classes": list(LABELS)}
        (directory / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, directory: str | Path, base) -> "TunedHead":
        """The model saved in ``directory`` over ``base`` (the default head it was fitted on)."""
        card, arrays = read_artefact(directory, "tuned.npz",
                                     f"no tuned sentiment model in {directory}: run `voxlens tune`")
        return cls(base, arrays["coef"], arrays["intercept"], card)


def is_tuned_dir(path: str | Path) -> bool:
    return (Path(path) / "tuned.npz").exists()


def embed_and_aggregate(texts: Sequence[str], encoder, base, long_text_chars: int = 400,
                        segment: Callable[[str], list[str]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(text embeddings, base probabilities) of ``texts``: long texts cut into pieces (``segment``, default
    sentences beyond ``long_text_chars``), their vectors averaged by length and their probabilities
    aggregated as prediction does. ``encoder.encode`` gives the pieces' vectors, ``base.predict_proba``
    their probabilities."""
    groups = [segment(str(t)) if segment else scoring_segments(str(t), long_text_chars) for t in texts]
    flat = [s for g in groups for s in g]
    vectors = np.asarray(encoder.encode(flat), dtype=np.float32) if flat else np.zeros((0, 384), np.float32)
    if not flat:
        return np.zeros((len(texts), vectors.shape[1]), dtype=np.float32), np.zeros((len(texts), 3))
    probs = base.predict_proba(vectors) if len(flat) else np.zeros((0, 3))
    recency = float(base.card.get("aggregation", {}).get("recency", 0.0))
    embeddings = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
    start = 0
    for i, group in enumerate(groups):
        end = start + len(group)
        chars = np.array([len(s) for s in group], dtype=np.float64)
        embeddings[i] = np.average(vectors[start:end], axis=0, weights=np.maximum(chars, 1))
        start = end
    return embeddings, fold(groups, probs, recency=recency)
