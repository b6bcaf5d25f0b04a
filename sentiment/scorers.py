"""Sentiment scorers: text segments (or whole texts) in, probabilities (negative, neutral, positive) out.

- :class:`BranchScorer`: the default English model, MiniLM's frozen first layers with a fine-tuned branch
  and a head (``models/sentiment_branch/``, run by :mod:`voxlens.sentiment.branch_runtime`);
- :class:`HeadScorer`: encoder embeddings and a :class:`SentimentHead` (the earlier frozen-MiniLM head,
  ``models/previous/sentiment_head_v3/``, the default when no branch model is installed);
- :class:`TunedScorer`: a store's tuned model over its :func:`tuning_base`;
- the n-gram and checkpoint scorers of :mod:`voxlens.sentiment.ngram` and :mod:`voxlens.sentiment.checkpoint`.

:func:`build_scorer` picks one from a model name or directory, and :func:`frame_from_probabilities` turns
probabilities into the public prediction frame. :class:`voxlens.sentiment.model.SentimentModel` routes
each language to a scorer and aggregates the pieces of long texts.

Example:
    >>> frame_from_probabilities([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])[["label", "score"]].round(2)
          label  score
    0  positive    0.6
    1  negative   -0.5
    >>> type(build_scorer(None)).__name__      # the shipped default (loaded at first use)
    'BranchScorer'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from voxlens.sentiment.artefact import default_branch_dir
from voxlens.sentiment.checkpoint import CheckpointScorer
from voxlens.sentiment.encoder import Encoder
from voxlens.sentiment.ngram import NgramScorer, is_ngram_dir
from voxlens.sentiment.head import SentimentHead
from voxlens.sentiment.tuned import LABELS, TunedHead, embed_and_aggregate, is_tuned_dir, text_features
from voxlens.sentiment.segments import scoring_segments

DEFAULT_HEAD = "voxlens/minilm-sentiment-head"
BRANCH_NAME = "voxlens/minilm-branch-sentiment"
DEFAULT = "default"
PUBLIC_COLUMNS = ["label", "score", "p_negative", "p_neutral", "p_positive"]


def previous_head_dir() -> Path:
    """The frozen-MiniLM head (v3): the default when no branch model is installed, and the base of stores'
    tuned models fitted on it."""
    from voxlens import models

    return Path(models.__file__).parent / "previous" / "sentiment_head_v3"


def default_polish_dir() -> Path:
    """The shipped Polish model (word and character n-grams, ``models/train_polish.py``)."""
    from voxlens import models

    return Path(models.__file__).parent / "polish_sentiment"


class HeadScorer:
    """Encoder embeddings + a :class:`SentimentHead` (the default model, or a head directory)."""

    def __init__(self, head_dir: str | Path | None = None, encoder: str | None = None,
                 batch_size: int = 64, progress: bool | None = None, quantize: bool = False) -> None:
        self.head_dir = head_dir
        self.encoder = encoder
        self.batch_size = batch_size
        self.progress = progress
        self.quantize = quantize

    @property
    def name(self) -> str:
        self._load()
        int8 = "+int8" if self.quantize else ""
        name = self.head_.card.get("name") or self.head_dir or DEFAULT_HEAD
        return f"{name}@{self.head_.card.get('version', 'dev')}{int8}"

    def _load(self) -> None:
        if getattr(self, "head_", None) is not None:
            return
        self.head_ = SentimentHead.load(self.head_dir or previous_head_dir())
        self.encoder_ = Encoder(model=self.encoder, batch_size=self.batch_size, progress=self.progress,
                                quantize=self.quantize)

    @property
    def recency(self) -> float:
        """How much later sentences of a long text weigh in its aggregate (from the head's card)."""
        self._load()
        return float(self.head_.card.get("aggregation", {}).get("recency", 0.0))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        return self.head_.predict_proba(self.encoder_.encode(list(texts))).astype(np.float64)

    def topic_encoder(self) -> Encoder:
        """The encoder whose vectors serve topics (here the one the head reads)."""
        self._load()
        return self.encoder_


def branch_model_name(card: dict) -> str:
    """``name@version`` of a branch model from its card (the name stores and tuned models record).

    Example:
        >>> branch_model_name({"name": "voxlens/minilm-branch-sentiment", "version": "5"})
        'voxlens/minilm-branch-sentiment@5'
    """
    return f"{card.get('name', BRANCH_NAME)}@{card.get('version', 'dev')}"


class BranchScorer:
    """The branch model (``models/sentiment_branch/``): MiniLM's frozen first layers, fine-tuned branch layers
    and a head, run by :class:`voxlens.sentiment.branch_runtime.BranchEncoder`. Long texts are read in windows
    of whole sentences (the card's ``long_text_chars`` and ``windows``).

    Example:
        >>> scorer = BranchScorer()  # doctest: +SKIP
        >>> scorer.name  # doctest: +SKIP
        'voxlens/minilm-branch-sentiment@5+int8'
    """

    def __init__(self, branch_dir: str | Path | None = None, encoder: str | None = None, batch_size: int = 64,
                 progress: bool | None = None, quantize: bool = True) -> None:
        self.branch_dir = branch_dir
        self.encoder = encoder
        self.batch_size = batch_size
        self.progress = progress
        self.quantize = quantize

    def _load(self) -> None:
        if getattr(self, "head_", None) is not None:
            return
        from voxlens.sentiment.branch_runtime import BranchEncoder

        directory = Path(self.branch_dir or default_branch_dir())
        self.encoder_ = BranchEncoder(directory, encoder=self.encoder, quantize=self.quantize,
                                      batch_size=self.batch_size, progress=self.progress)
        self.head_ = self.encoder_.head      # the one that also decides which pieces fp32 scores again

    @property
    def card(self) -> dict:
        self._load()
        return self.head_.card

    @property
    def name(self) -> str:
        """``name@version``, with ``+int8`` when int8 graphs score (not on the torch fallback, which runs fp32)."""
        return branch_model_name(self.card) + ("+int8" if self.encoder_.runs_int8 else "")

    def segments(self, text: str) -> list[str]:
        """What is scored for one text: the whole text, or windows of its sentences when it is long."""
        card = self.card
        return scoring_segments(text, int(card.get("long_text_chars", 400)), windows=bool(card.get("windows", True)))

    def predict_proba(self, segments: Sequence[str], groups: Sequence[int] | None = None) -> np.ndarray:
        """Probabilities of text segments as given (the sentiment graph only). ``groups``: when the segments
        are the pieces of whole texts, each text's number of pieces (the int8 path's fp32 margin then applies
        to each text's folded probabilities, :meth:`~voxlens.sentiment.branch_runtime.BranchEncoder.run`)."""
        self._load()
        return self.head_.predict_proba(self.encoder_.run(list(segments), groups=groups)[0]).astype(np.float64)

    def topic_encoder(self) -> Encoder:
        """The plain encoder whose vectors the shared graph's topic output equals."""
        self._load()
        return self.encoder_.topic_encoder()


class TunedScorer(HeadScorer):
    """A store's tuned model (:mod:`voxlens.sentiment.tuned`): reads whole texts, pieces aggregated inside.

    It builds on the model named in its card's ``base``: the branch model (its pooled representation and
    log-probabilities) or the earlier frozen-MiniLM head (sentence embeddings and its log-probabilities)."""

    whole_text = True

    def _load(self) -> None:
        if getattr(self, "head_", None) is not None:
            return
        base = tuning_base(self.head_dir, batch_size=self.batch_size, progress=self.progress,
                           quantize=self.quantize, encoder=self.encoder)
        self.base_ = base
        self.head_ = TunedHead.load(self.head_dir, base.head)
        self.encoder_ = base.topic_encoder

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        embeddings, probs = self.base_.features(list(texts))
        return self.head_.proba_from_features(text_features(embeddings, probs)).astype(np.float64)


class TuningBase:
    """What a tuned model reads: per text, the base's (aggregated) representation and probabilities.

    ``encode`` gives representations of pieces, ``head`` their probabilities, ``segments`` cuts a text into
    pieces, ``topic_encoder`` embeds texts for topics."""

    def __init__(self, name: str, encode, head, segments, topic_encoder: Encoder) -> None:
        self.name, self.encode, self.head, self.segments, self.topic_encoder = name, encode, head, segments, topic_encoder

    def features(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(length-weighted mean representation, aggregated base probabilities) per text."""
        return embed_and_aggregate(list(texts), self, self.head, segment=self.segments)


def tuning_base(tuned_dir: str | Path | None = None, batch_size: int = 64, progress: bool | None = False,
                quantize: bool = False, encoder: str | None = None) -> TuningBase:
    """The base model of the tuned model in ``tuned_dir`` (its card's ``base``), or, for None, the base a new
    tuned model builds on: the default English model (the branch model when it is installed)."""
    if tuned_dir is not None:
        card_path = Path(tuned_dir) / "card.json"
        base_name = json.loads(card_path.read_text()).get("base", "") if card_path.exists() else ""
        branch = str(base_name).startswith(BRANCH_NAME)
    else:
        branch = is_branch_dir(default_branch_dir())
    if branch:
        scorer = BranchScorer(batch_size=batch_size, progress=progress, quantize=quantize, encoder=encoder)
        scorer._load()
        return TuningBase(scorer.name.removesuffix("+int8"), scorer.encoder_.features, scorer.head_,
                          scorer.segments, scorer.topic_encoder())
    head = SentimentHead.load(previous_head_dir())
    plain = Encoder(model=encoder, batch_size=batch_size, progress=progress, quantize=quantize)
    return TuningBase(f"{DEFAULT_HEAD}@{head.card.get('version')}", plain.encode, head,
                      lambda text: scoring_segments(text, 400), plain)


def is_branch_dir(path: str | Path) -> bool:
    return (Path(path) / "weights.npz").exists() and (Path(path) / "card.json").exists()


def default_scorer(batch_size: int = 64, progress: bool | None = None, quantize: bool = False):
    """The English default: the branch model when ``models/sentiment_branch/`` is installed, else the v3 head."""
    if is_branch_dir(default_branch_dir()):
        return BranchScorer(batch_size=batch_size, progress=progress, quantize=quantize)
    return HeadScorer(batch_size=batch_size, progress=progress, quantize=quantize)


def build_scorer(spec: str | Path | None, batch_size: int = 64, progress: bool | None = None,
                 quantize: bool = False):
    """None/``"default"`` → the offline default; a branch or head directory → that model; else a checkpoint."""
    if spec is None or spec == DEFAULT:
        return default_scorer(batch_size, progress, quantize)
    if spec == DEFAULT_HEAD:
        return HeadScorer(batch_size=batch_size, progress=progress, quantize=quantize)
    if is_branch_dir(spec):
        return BranchScorer(branch_dir=spec, batch_size=batch_size, progress=progress, quantize=quantize)
    if (Path(spec) / "head.npz").exists():
        return HeadScorer(head_dir=spec, batch_size=batch_size, progress=progress, quantize=quantize)
    if is_ngram_dir(spec):
        return NgramScorer(spec)
    if is_tuned_dir(spec):
        return TunedScorer(head_dir=spec, batch_size=batch_size, progress=progress, quantize=quantize)
    return CheckpointScorer(str(spec), batch_size=batch_size)


def frame_from_probabilities(probs: np.ndarray) -> pd.DataFrame:
    """The public prediction frame: label, score = p_positive - p_negative, and the probabilities."""
    probs = np.asarray(probs, dtype=np.float64).reshape(-1, 3)
    labels = np.array(LABELS, dtype=object)[probs.argmax(axis=1)] if len(probs) else []
    frame = pd.DataFrame({
        "label": pd.Series(labels, dtype=object),
        "score": probs[:, 2] - probs[:, 0],
        "p_negative": probs[:, 0],
        "p_neutral": probs[:, 1],
        "p_positive": probs[:, 2],
    })
    frame.loc[np.isnan(probs).any(axis=1), "label"] = None
    return frame

