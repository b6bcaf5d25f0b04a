"""The sentiment label a rating stands for (the rating → label mapping that ``tune`` learns from).

- 1–5 stars (app stores, review sites, CSAT on 1–5): 1–2 negative, 3 neutral, 4–5 positive.
- 1–10 scores (review sites): ≤ 4 negative, 5–6 neutral, ≥ 7 positive.
- NPS (0–10 likelihood to recommend): detractors 0–6 negative, passives 7–8 neutral, promoters 9–10 positive.
- Any other scale from 0 or 1 to ``scale``: the rating's place on it, (rating − 1) / (scale − 1), ≤ 0.35
  negative, ≥ 0.6 positive, neutral between (on 1–5 and 1–10 this gives the two rules above).

Example:
    >>> rating_label(2, 5), rating_label(6, 10), nps_label(8), rating_label(6, 7)
    ('negative', 'neutral', 'neutral', 'positive')
"""

from __future__ import annotations

import math
from typing import Iterable

LABELS = ("negative", "neutral", "positive")


def rating_label(rating: float | None, scale: int | None) -> str | None:
    """The label of ``rating`` on a scale whose top is ``scale``; None when either is missing."""
    if rating is None or scale is None or _missing(rating) or _missing(scale) or scale < 2:
        return None
    rating, scale = float(rating), int(scale)
    if scale == 5:
        return "negative" if rating <= 2 else "neutral" if rating < 4 else "positive"
    if scale == 10:
        return "negative" if rating <= 4 else "neutral" if rating < 7 else "positive"
    place = (rating - 1) / (scale - 1)
    return "negative" if place <= 0.35 else "positive" if place >= 0.6 else "neutral"


def nps_label(score: float | None) -> str | None:
    """Detractor (0–6) → negative, passive (7–8) → neutral, promoter (9–10) → positive."""
    if score is None or _missing(score):
        return None
    return "negative" if score <= 6 else "neutral" if score <= 8 else "positive"


def rating_labels(ratings: Iterable[float | None], scales: Iterable[int | None]) -> list[str | None]:
    """:func:`rating_label` over two sequences."""
    return [rating_label(r, s) for r, s in zip(ratings, scales)]


def _missing(value) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True
