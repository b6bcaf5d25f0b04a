"""Split long feedback into sentences and fold sentence probabilities back into one per text.

A review of several paragraphs is not judged by its opening lines: each sentence is scored and the text's
probabilities are the mean of its sentences' probabilities, each sentence weighted by its length times its
opinion strength (1 − p_neutral), so the sentences that carry an opinion decide, and the purely
descriptive ones ("I took it for two weeks") do not drown them.

Example:
    >>> split_sentences("Delivery was late. The courier was rude!  But the app works.")
    ['Delivery was late.', 'The courier was rude!', 'But the app works.']
    >>> aggregate([[0.8, 0.1, 0.1], [0.0, 0.2, 0.8]], weights=[3, 1], opinion_weighted=False).round(2).tolist()
    [0.6, 0.12, 0.28]
    >>> aggregate([[0.1, 0.8, 0.1], [0.7, 0.1, 0.2]]).round(2).tolist()
    [0.59, 0.23, 0.18]
    >>> scoring_segments("Short and sweet. Loved it.", long_text_chars=400)
    ['Short and sweet. Loved it.']
    >>> pack_windows(["Late again.", "Rude driver.", "Refund took weeks."], max_chars=25)
    ['Late again. Rude driver.', 'Refund took weeks.']
    >>> fold([["Late again.", "Rude driver."], ["Fine."]], np.array([[0.8, 0.1, 0.1], [0.6, 0.2, 0.2],
    ...                                                           [0.1, 0.8, 0.1]])).round(2).tolist()
    [[0.7, 0.15, 0.15], [0.1, 0.8, 0.1]]
    >>> piece_positions([2, 1, 3], [0, 2]).tolist()
    [0, 1, 3, 4, 5]
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

# A sentence ends at . ! ? … (and runs of them) followed by space, or at a line break.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\s*\n+\s*")
MAX_SENTENCE_CHARS = 600


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Sentences of ``text`` in order; a sentence longer than ``max_chars`` is cut into word windows."""
    pieces = [p.strip() for p in _BOUNDARY.split(str(text))]
    sentences: list[str] = []
    for piece in pieces:
        if not piece:
            continue
        if len(piece) <= max_chars:
            sentences.append(piece)
            continue
        sentences += pack_windows(piece.split(), max_chars)      # word windows
    return sentences or [str(text).strip()]


def pack_windows(sentences: Sequence[str], max_chars: int) -> list[str]:
    """Consecutive sentences (or words) joined by spaces into windows of at most ``max_chars`` (a longer
    one stays alone): fewer, fuller segments than one per sentence, each still read in its context."""
    windows: list[str] = []
    current = ""
    for sentence in sentences:
        if current and len(current) + 1 + len(sentence) > max_chars:
            windows.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        windows.append(current)
    return windows


def scoring_segments(text: str, long_text_chars: int = 400, windows: bool = False) -> list[str]:
    """What the model scores for one text: the whole text, or, when it is longer than ``long_text_chars``,
    its sentences (``windows=False``) or its sentences packed into windows of at most ``long_text_chars``
    (``windows=True``). Training uses the same cut, so a model learns what prediction sees."""
    if len(text) <= long_text_chars:
        return [text]
    sentences = split_sentences(text, max_chars=min(MAX_SENTENCE_CHARS, long_text_chars) if windows else MAX_SENTENCE_CHARS)
    return pack_windows(sentences, long_text_chars) if windows else sentences


def position_weights(count: int, recency: float = 0.0) -> np.ndarray:
    """1 + ``recency`` × relative position (0 for the first sentence, 1 for the last): reviews tend to end
    on their verdict.

    >>> position_weights(3, recency=2.0).tolist()
    [1.0, 2.0, 3.0]
    """
    if count < 2 or not recency:
        return np.ones(count)
    return 1.0 + recency * np.arange(count) / (count - 1)


def aggregate(probabilities: Sequence[Sequence[float]], weights: Sequence[float] | None = None,
              opinion_weighted: bool = True, recency: float = 0.0) -> np.ndarray:
    """Weighted mean of sentence probability rows (negative, neutral, positive).

    ``weights`` (default equal, e.g. sentence lengths) are multiplied by each row's 1 − p_neutral when
    ``opinion_weighted``, and by :func:`position_weights` when ``recency`` > 0; a text whose sentences are
    all neutral stays neutral.
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    w = np.ones(len(probs)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w * position_weights(len(probs), recency)
    if opinion_weighted and (w * (1 - probs[:, 1])).sum() > 1e-12:
        w = w * (1 - probs[:, 1])
    return (probs * w[:, None]).sum(axis=0) / max(w.sum(), 1e-12)


def fold(groups: Sequence[Sequence[str]], piece_probabilities: np.ndarray, recency: float = 0.0) -> np.ndarray:
    """One probability row per text from the rows of its pieces (``groups``: each text's pieces, in the
    order of ``piece_probabilities``): a single piece stands as it is, several are folded by :func:`aggregate`,
    weighted by their lengths."""
    out, start = np.zeros((len(groups), 3)), 0
    for i, group in enumerate(groups):
        rows = piece_probabilities[start:start + len(group)]
        out[i] = rows[0] if len(group) == 1 else aggregate(rows, [len(s) for s in group], recency=recency)
        start += len(group)
    return out


def piece_positions(counts: Sequence[int], texts: Sequence[int]) -> np.ndarray:
    """Positions, in the flat list of all texts' pieces (``counts``: each text's number of pieces, in order),
    of every piece of the texts numbered ``texts``."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.concatenate([np.arange(starts[t], starts[t] + counts[t]) for t in texts] or [np.zeros(0, np.int64)])
