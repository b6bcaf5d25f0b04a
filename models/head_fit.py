"""Fit the sentiment head on short labelled texts and on whole reviews, the way prediction reads them.

A short text (a tweet, a critic's snippet) is one embedding with one label: plain cross-entropy. A review
is scored at prediction time sentence by sentence, and its probabilities are the opinion-weighted mean of
its sentences' (:func:`voxlens.sentiment.segments.aggregate`). So a review's loss is the cross-entropy of that same
aggregate against the review's label (multiple-instance learning): the head learns which sentences carry
the verdict and how strongly, without a label for any single sentence.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(60, 8)).astype(np.float32); y = (x[:, 0] > 0) * 2
    >>> data = {"short": x, "short_y": y, "segments": x[:0], "segment_review": np.zeros(0, int),
    ...         "segment_chars": np.zeros(0, np.float32), "review_y": np.zeros(0, int)}
    >>> fitter = HeadFitter(epochs=50, batch_size=16, lr=0.05).fit(data)
    >>> float((fitter.to_head().predict_proba(x).argmax(1) == y).mean()) > 0.9
    True
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from voxlens.sentiment.scorers import LABELS, SentimentHead
from voxlens.sentiment.segments import aggregate


def review_probabilities(segment_probs: np.ndarray, segment_review: np.ndarray, segment_chars: np.ndarray,
                         reviews: int, opinion_weighted: bool = True, recency: float = 0.0) -> np.ndarray:
    """Each review's probabilities from its segments', with the prediction-time :func:`aggregate`."""
    out = np.zeros((reviews, 3))
    bounds = np.searchsorted(segment_review, np.arange(reviews + 1))
    for review, (start, end) in enumerate(zip(bounds[:-1], bounds[1:])):
        rows = segment_probs[start:end]
        out[review] = rows[0] if len(rows) == 1 else aggregate(rows, segment_chars[start:end], opinion_weighted,
                                                              recency)
    return out


def review_loss(probs, owner, chars, labels, opinion_weighted: bool = True):
    """Cross-entropy of each review's mean segment probabilities, weighted as :func:`aggregate` weighs them
    (torch tensors: segment ``probs``, the review each segment belongs to, segment lengths, review labels)."""
    import torch

    reviews = len(labels)
    weight = chars * ((1 - probs[:, 1]) if opinion_weighted else 1.0) + 1e-6
    total = torch.zeros(reviews).index_add(0, owner, weight)
    mixed = torch.zeros(reviews, 3).index_add(0, owner, probs * weight[:, None]) / total[:, None]
    return -torch.log(mixed[torch.arange(reviews), labels].clamp(min=1e-7)).mean()


def segment_positions(segment_review: np.ndarray) -> np.ndarray:
    """Each segment's relative position in its review (0 first, 1 last; 0 for a single segment)."""
    segment_review = np.asarray(segment_review)
    if not len(segment_review):
        return np.zeros(0, dtype=np.float32)
    starts = np.searchsorted(segment_review, segment_review, side="left")
    ends = np.searchsorted(segment_review, segment_review, side="right")
    index = np.arange(len(segment_review))
    return ((index - starts) / np.maximum(ends - starts - 1, 1)).astype(np.float32)


def concat_embeddings(parts: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Join :func:`voxlens.models.train_sentiment.embed_split` outputs (e.g. fp32 and int8 views of the same texts)."""
    joined: dict[str, np.ndarray] = {}
    offset = 0
    for part in parts:
        for key, value in part.items():
            value = value + offset if key == "segment_review" else value
            joined[key] = value if key not in joined else np.concatenate([joined[key], value])
        offset += len(part["review_y"])
    return joined


class HeadFitter:
    """A linear or one-hidden-layer head trained with Adam on short texts plus aggregated reviews.

    Args:
        hidden: hidden units (0 = linear head).
        class_weight: None or ``"balanced"`` (inverse class frequency of the short texts).
        review_weight: weight of the review loss against the short-text loss.
        weight_decay: AdamW weight decay.
        epochs, batch_size, lr: optimisation; each step sees ``batch_size`` short texts and the matching
            share of reviews.
        dropout: on the hidden layer, during training only.
        opinion_weighted: reviews aggregate as prediction does (sentence weight = length × (1 − p_neutral));
            False: by length only.
        recency: later sentences weigh more, as :func:`voxlens.sentiment.segments.position_weights`.
        seed: torch and numpy seed.
    """

    def __init__(self, hidden: int = 0, class_weight: str | None = None, review_weight: float = 1.0,
                 weight_decay: float = 1e-4, epochs: int = 20, batch_size: int = 512, lr: float = 2e-3,
                 dropout: float = 0.1, opinion_weighted: bool = True, recency: float = 0.0,
                 seed: int = 13) -> None:
        self.hidden = hidden
        self.class_weight = class_weight
        self.review_weight = review_weight
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.dropout = dropout
        self.opinion_weighted = opinion_weighted
        self.recency = recency
        self.seed = seed

    def _network(self, dimension: int):
        import torch

        if not self.hidden:
            return torch.nn.Linear(dimension, 3)
        return torch.nn.Sequential(torch.nn.Linear(dimension, self.hidden), torch.nn.ReLU(),
                                   torch.nn.Dropout(self.dropout), torch.nn.Linear(self.hidden, 3))

    def fit(self, data: dict[str, np.ndarray]) -> "HeadFitter":
        """Train on ``data`` as returned by :func:`voxlens.models.train_sentiment.embed_split`."""
        import torch

        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        x_short = torch.tensor(np.asarray(data["short"], dtype=np.float32))
        y_short = torch.tensor(np.asarray(data["short_y"], dtype=np.int64))
        segments = torch.tensor(np.asarray(data["segments"], dtype=np.float32))
        chars = torch.tensor(np.asarray(data["segment_chars"], dtype=np.float32)
                             * (1 + self.recency * segment_positions(data["segment_review"])))
        y_review = torch.tensor(np.asarray(data["review_y"], dtype=np.int64))
        bounds = np.searchsorted(data["segment_review"], np.arange(len(y_review) + 1))
        counts = np.bincount(data["short_y"], minlength=3).astype(np.float64)
        weights = None
        if self.class_weight == "balanced":
            weights = torch.tensor(counts.sum() / (3 * np.maximum(counts, 1)), dtype=torch.float32)
        self.network_ = self._network(x_short.shape[1])
        optimiser = torch.optim.AdamW(self.network_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        steps = max(1, int(np.ceil(len(y_short) / self.batch_size)))
        self.network_.train()
        for _ in range(self.epochs):
            short_order = np.array_split(rng.permutation(len(y_short)), steps)
            review_order = np.array_split(rng.permutation(len(y_review)), steps)
            for short_index, review_index in zip(short_order, review_order):
                loss = torch.nn.functional.cross_entropy(self.network_(x_short[short_index]),
                                                         y_short[short_index], weight=weights)
                if len(review_index) and self.review_weight:
                    loss = loss + self.review_weight * self._review_loss(
                        segments, chars, y_review, bounds, review_index)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        self.network_.eval()
        return self

    def _review_loss(self, segments, chars, y_review, bounds, review_index):
        """Cross-entropy of the opinion-weighted mean of segment probabilities, as in ``aggregate``."""
        import torch

        index = np.concatenate([np.arange(bounds[r], bounds[r + 1]) for r in review_index])
        owner = torch.from_numpy(np.repeat(np.arange(len(review_index)), bounds[review_index + 1] - bounds[review_index]))
        probs = torch.softmax(self.network_(segments[index]), dim=1)
        return review_loss(probs, owner, chars[index], y_review[review_index], self.opinion_weighted)

    def to_head(self, temperature: float = 1.0, card: dict | None = None) -> SentimentHead:
        """The trained weights as a :class:`SentimentHead` (classes in :data:`LABELS` order)."""
        layers = [m for m in (self.network_ if self.hidden else [self.network_]) if hasattr(m, "weight")]
        out = layers[-1]
        hidden = layers[0] if self.hidden else None
        return SentimentHead(
            out.weight.detach().numpy(), out.bias.detach().numpy(), list(LABELS), temperature, card,
            None if hidden is None else hidden.weight.detach().numpy(),
            None if hidden is None else hidden.bias.detach().numpy())


def fit_temperature(head: SentimentHead, data: dict[str, np.ndarray], opinion_weighted: bool = True,
                    recency: float = 0.0) -> float:
    """The temperature minimising validation log-loss over short texts and aggregated reviews together."""
    from scipy.optimize import minimize_scalar

    short_logits, segment_logits = head.logits(data["short"]), head.logits(data["segments"])

    def nll(t: float) -> float:
        head.temperature = t
        probs = [_softmax(short_logits / t)]
        if len(data["review_y"]):
            probs.append(review_probabilities(_softmax(segment_logits / t), data["segment_review"],
                                              data["segment_chars"], len(data["review_y"]), opinion_weighted,
                                              recency))
        y = np.concatenate([data["short_y"], data["review_y"]])
        p = np.concatenate(probs)[np.arange(len(y)), y]
        return -float(np.log(np.clip(p, 1e-12, None)).mean())

    best = float(minimize_scalar(nll, bounds=(0.2, 5.0), method="bounded").x)
    head.temperature = best
    return best


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def predict_split(head: SentimentHead, data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(short-text probabilities, review probabilities) of one embedded split, aggregated with the
    ``recency`` in the head's card, as prediction does."""
    recency = float(head.card.get("aggregation", {}).get("recency", 0.0))
    reviews = review_probabilities(head.predict_proba(data["segments"]), data["segment_review"],
                                   data["segment_chars"], len(data["review_y"]), recency=recency) \
        if len(data["review_y"]) else np.zeros((0, 3))
    return head.predict_proba(data["short"]), reviews
