"""Which languages an encoder keeps apart, so that topics can be clustered per language.

An English-only encoder (the default MiniLM) places texts of another language in a region of their own:
clustered with everything else, all Polish feedback becomes one topic, whatever it is about. Clustered
on their own, the same vectors still separate the Polish themes. A multilingual encoder mixes languages
by meaning, and there one clustering serves every language.

The test is how often a text's nearest neighbour (cosine) shares its language, beyond chance: the
*separation* ``(same − chance) / (1 − chance)`` is about 0 when the encoder mixes languages and about 1
when it keeps one apart.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> themes = rng.normal(size=(3, 8))
    >>> theme = np.tile(np.arange(3), 40)
    >>> langs = np.array(["en"] * 60 + ["pl"] * 60)
    >>> apart = themes[theme] + 0.2 * rng.normal(size=(120, 8)) + 5.0 * (langs == "pl")[:, None]
    >>> separated_languages(langs, apart, min_items=30)
    ['en', 'pl']
    >>> mixed = themes[theme] + 0.2 * rng.normal(size=(120, 8))
    >>> separated_languages(langs, mixed, min_items=30)
    []
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

UNDETERMINED = "und"
SHARED = ""     # the group of every text whose language is not clustered on its own


def separated_languages(langs: Sequence[str | None], embeddings: np.ndarray, min_items: int = 50,
                        min_separation: float = 0.8, sample: int = 500, random_state: int = 0) -> list[str]:
    """Languages with at least ``min_items`` texts whose separation is at least ``min_separation``.

    Up to ``sample`` texts per language are checked against all texts. Undetermined languages (None,
    empty or ``und``) are never separated; a language is not "separated" from fewer than ``min_items``
    other texts (a few misdetected ones make the test a coin toss: chance is then close to 1).
    """
    codes = _codes(langs)
    counts = pd.Series(codes[codes != SHARED]).value_counts()
    if len(codes) < 2 or (counts == len(codes)).any():
        return []
    vectors = np.asarray(embeddings, dtype=np.float32)
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    rng = np.random.default_rng(random_state)
    separated = []
    for lang in sorted(counts[counts >= min_items].index):
        if len(codes) - counts[lang] < min_items:      # too few other texts to be kept apart from
            continue
        rows = np.flatnonzero(codes == lang)
        rows = np.sort(rng.choice(rows, size=min(sample, len(rows)), replace=False))
        similarity = vectors[rows] @ vectors.T
        similarity[np.arange(len(rows)), rows] = -np.inf
        same = float(np.mean(codes[similarity.argmax(axis=1)] == lang))
        chance = (counts[lang] - 1) / (len(codes) - 1)
        if (same - chance) / (1 - chance) >= min_separation:
            separated.append(str(lang))
    return separated


def language_groups(langs: Sequence[str | None] | None, embeddings: np.ndarray, split: bool = True,
                    min_items: int = 50, random_state: int = 0) -> np.ndarray:
    """Per text, the group it is clustered in: its language when :func:`separated_languages` finds the
    encoder keeps it apart (and ``split``), else ``SHARED`` (""), the group of all the rest."""
    if langs is None or not split:
        return np.full(len(embeddings), SHARED, dtype=object)
    if len(langs) != len(embeddings):
        raise ValueError(f"{len(langs)} languages for {len(embeddings)} embeddings: give one per text")
    codes = _codes(langs)
    own = separated_languages(codes, embeddings, min_items=min_items, random_state=random_state)
    return np.where(np.isin(codes, own), codes, SHARED)


def _codes(langs: Sequence[str | None]) -> np.ndarray:
    return np.array([SHARED if not isinstance(lang, str) or lang in ("", UNDETERMINED) else lang
                     for lang in langs], dtype=object)
