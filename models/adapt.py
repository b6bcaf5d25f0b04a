"""Adapt a sentiment head to one domain's own rated texts (what ``voxlens tune`` fits), and measure it.

Texts are embedded the way prediction reads them: a short text whole, a long one sentence by sentence
(:func:`voxlens.sentiment.segments.scoring_segments`). The adapted head starts from the given head (the
default) and is trained a few epochs on the rated texts, long ones through the same opinion-weighted
aggregate as at prediction (:class:`voxlens.models.head_fit.HeadFitter`). :func:`cross_validate` scores the
starting head and the adapted one on the same held-out folds.

Example:
    >>> import numpy as np
    >>> from voxlens.sentiment.model import SentimentHead
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(90, 8)).astype(np.float32); y = np.array([0, 1, 2] * 30); x[:, :3] += 3 * np.eye(3)[y]
    >>> data = {"short": x, "short_y": y, "short_pos": np.arange(90), "segments": x[:0],
    ...         "segment_review": np.zeros(0, int), "segment_chars": np.zeros(0, np.float32),
    ...         "review_y": np.zeros(0, int), "review_pos": np.zeros(0, int)}
    >>> base = SentimentHead(np.zeros((3, 8)), np.zeros(3), ["negative", "neutral", "positive"])
    >>> before, after = cross_validate(base, data, folds=3)
    >>> before < 0.5 < after
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from voxlens.sentiment.model import LABELS, SentimentHead
from voxlens.sentiment.segments import scoring_segments

# Chosen on the Women's clothing reviews (never on the domains the tune curve is measured on).
EPOCHS = 8
LEARNING_RATE = 3e-4
BATCH_SIZE = 32


def embed_texts(texts: Sequence[str], labels: Sequence[str], encoder, long_text_chars: int = 400) -> dict:
    """The :class:`~voxlens.models.head_fit.HeadFitter` input for ``texts`` with positions back to them
    (``short_pos``, ``review_pos``)."""
    groups = [scoring_segments(str(t), long_text_chars) for t in texts]
    y = np.array([LABELS.index(label) for label in labels], dtype=np.int64)
    single = np.array([len(g) == 1 for g in groups], dtype=bool)
    flat = [s for g, one in zip(groups, single) if not one for s in g]
    vectors = encoder.encode([g[0] for g, one in zip(groups, single) if one] + flat)
    n_short = int(single.sum())
    long_groups = [g for g, one in zip(groups, single) if not one]
    return {
        "short": np.asarray(vectors[:n_short], dtype=np.float32), "short_y": y[single],
        "short_pos": np.flatnonzero(single),
        "segments": np.asarray(vectors[n_short:], dtype=np.float32),
        "segment_review": np.repeat(np.arange(len(long_groups)), [len(g) for g in long_groups]),
        "segment_chars": np.array([len(s) for s in flat], dtype=np.float32),
        "review_y": y[~single], "review_pos": np.flatnonzero(~single),
    }


def subset(data: dict, positions: np.ndarray) -> dict:
    """The texts at ``positions`` (of the original sequence) only."""
    keep = np.zeros(int(max(data["short_pos"].max(initial=-1), data["review_pos"].max(initial=-1))) + 1, bool)
    keep[np.asarray(positions, dtype=int)] = True
    short = keep[data["short_pos"]]
    reviews = np.flatnonzero(keep[data["review_pos"]])
    segment_mask = np.isin(data["segment_review"], reviews)
    renumber = np.full(len(data["review_pos"]), -1)
    renumber[reviews] = np.arange(len(reviews))
    return {"short": data["short"][short], "short_y": data["short_y"][short], "short_pos": data["short_pos"][short],
            "segments": data["segments"][segment_mask], "segment_review": renumber[data["segment_review"][segment_mask]],
            "segment_chars": data["segment_chars"][segment_mask], "review_y": data["review_y"][reviews],
            "review_pos": data["review_pos"][reviews]}


def labels_of(data: dict) -> tuple[np.ndarray, np.ndarray]:
    """(positions, labels) of every text in ``data``, short texts first."""
    return (np.concatenate([data["short_pos"], data["review_pos"]]),
            np.concatenate([data["short_y"], data["review_y"]]))


def predict(head: SentimentHead, data: dict) -> np.ndarray:
    """Probabilities of every text in ``data`` in the order of :func:`labels_of`."""
    from voxlens.models.head_fit import predict_split

    short, reviews = predict_split(head, data)
    return np.concatenate([short, reviews])


def adapt_head(base: SentimentHead, data: dict, epochs: int = EPOCHS, lr: float = LEARNING_RATE,
               seed: int = 13) -> SentimentHead:
    """``base`` trained further on ``data`` (temperature folded into the weights, then 1)."""
    from voxlens.models.head_fit import HeadFitter

    hidden = 0 if base.hidden_weight is None else base.hidden_weight.shape[0]
    fitter = HeadFitter(hidden=hidden, epochs=epochs, batch_size=BATCH_SIZE, lr=lr, seed=seed, init=base,
                        recency=float(base.card.get("aggregation", {}).get("recency", 0.0)))
    if not len(data["short_y"]):          # the fitter steps through short texts: give it one copy of a review
        data = {**data, "short": data["segments"][:1], "short_y": data["review_y"][:1]}
    card = {k: v for k, v in base.card.items() if k in ("encoder", "encoder_package", "aggregation")}
    return fitter.fit(data).to_head(1.0, card)


@dataclass
class CrossValidation:
    """Macro-F1 of the base and of the adapted head on the same held-out folds."""

    before: float
    after: float
    folds: int
    n: int

    def __iter__(self):
        return iter((self.before, self.after))


def cross_validate(base: SentimentHead, data: dict, folds: int = 5, seed: int = 13, **kwargs) -> CrossValidation:
    """Stratified ``folds``-fold: each fold is predicted by ``base`` and by ``base`` adapted on the others;
    macro-F1 over all held-out predictions."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    positions, y = labels_of(data)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    before, after, truth = [], [], []
    for train, held in splitter.split(positions, y):
        held_data = subset(data, positions[held])
        adapted = adapt_head(base, subset(data, positions[train]), seed=seed, **kwargs)
        truth.append(labels_of(held_data)[1])
        before.append(predict(base, held_data).argmax(1))
        after.append(predict(adapted, held_data).argmax(1))
    truth_all = np.concatenate(truth)
    score = lambda p: float(f1_score(truth_all, np.concatenate(p), labels=[0, 1, 2], average="macro"))
    return CrossValidation(score(before), score(after), folds, len(y))
