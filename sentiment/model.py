"""Three-class sentiment (negative, neutral, positive) with probabilities and a score in [-1, 1].

The default model is the offline MiniLM encoder with a logistic-regression head trained on
human-labelled tweets (see ``models/train_sentiment.py`` and ``models/sentiment_head/card.json``).

Example:
    >>> from sentiment import SentimentModel
    >>> SentimentModel().predict(["I love it", "Awful support"])[["label"]]  # doctest: +SKIP
          label
    0  positive
    1  negative
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from sentiment.encoder import Encoder
from voxlens.errors import ModelError

LABELS = ("negative", "neutral", "positive")
DEFAULT_HEAD = "voxlens/minilm-sentiment-head"


def default_head_dir() -> Path:
    import models

    return Path(models.__file__).parent / "sentiment_head"


class SentimentHead:
    """A linear softmax head over sentence embeddings, stored as ``head.npz`` + ``card.json``."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: Sequence[str],
                 temperature: float = 1.0, card: dict | None = None) -> None:
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.classes = list(classes)
        self.temperature = float(temperature)
        self.card = card or {}

    @classmethod
    def load(cls, directory: str | Path) -> "SentimentHead":
        directory = Path(directory)
        try:
            arrays = np.load(directory / "head.npz")
            card = json.loads((directory / "card.json").read_text())
        except FileNotFoundError as exc:
            raise ModelError(f"no sentiment head in {directory}: run models/train_sentiment.py") from exc
        return cls(arrays["coef"], arrays["intercept"], card["classes"], card.get("temperature", 1.0), card)

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / "head.npz", coef=self.coef, intercept=self.intercept)
        card = {**self.card, "classes": self.classes, "temperature": self.temperature}
        (directory / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """Class probabilities in the order of :data:`LABELS`."""
        logits = (embeddings @ self.coef.T + self.intercept) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs[:, [self.classes.index(label) for label in LABELS]]


def frame_from_probabilities(probs: np.ndarray) -> pd.DataFrame:
    """The public prediction frame: label, score = p_positive - p_negative, and the probabilities."""
    probs = np.asarray(probs, dtype=np.float64)
    return pd.DataFrame({
        "label": [LABELS[i] for i in probs.argmax(axis=1)] if len(probs) else [],
        "score": probs[:, 2] - probs[:, 0] if len(probs) else [],
        "p_negative": probs[:, 0] if len(probs) else [],
        "p_neutral": probs[:, 1] if len(probs) else [],
        "p_positive": probs[:, 2] if len(probs) else [],
    })


class SentimentModel:
    """Score texts as negative / neutral / positive.

    Args:
        model: None for the offline default (MiniLM + trained head).
        batch_size: texts per forward pass.
        progress: show a progress bar (default: only for long inputs).
    """

    def __init__(self, model: str | None = None, batch_size: int = 64, progress: bool | None = None) -> None:
        self.model = model
        self.batch_size = batch_size
        self.progress = progress

    @property
    def name(self) -> str:
        """The identifier stored beside every score (so a model change re-scores)."""
        if self.model is None:
            self._load()
            return f"{DEFAULT_HEAD}@{self.head_.card.get('version', 'dev')}"
        return self.model

    def _load(self) -> None:
        if getattr(self, "encoder_", None) is not None:
            return
        if self.model is not None:
            raise ModelError(
                f"model {self.model!r}: only the default model (model=None) is available in this version"
            )
        self.encoder_ = Encoder(batch_size=self.batch_size, progress=self.progress)
        self.head_ = SentimentHead.load(default_head_dir())

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        return self.head_.predict_proba(self.encoder_.encode(list(texts)))

    def predict(self, texts: Sequence[str]) -> pd.DataFrame:
        """One row per text, in order: ``label``, ``score`` in [-1, 1], ``p_negative``, ``p_neutral``, ``p_positive``."""
        texts = list(texts)
        if not texts:
            return frame_from_probabilities(np.zeros((0, 3)))
        return frame_from_probabilities(self.predict_proba(texts))

    def embedding_encoder(self) -> Encoder | None:
        """The encoder whose vectors :meth:`predict_embeddings` scores; None when scores need the raw text."""
        self._load()
        return self.encoder_

    def predict_embeddings(self, embeddings: np.ndarray) -> pd.DataFrame:
        """Like :meth:`predict`, from vectors of :meth:`embedding_encoder` (a pipeline embeds each text once)."""
        self._load()
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if not len(embeddings):
            return frame_from_probabilities(np.zeros((0, 3)))
        return frame_from_probabilities(self.head_.predict_proba(embeddings))
