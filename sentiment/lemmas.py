"""Lemmas: a word's inflected forms as one (Polish ``zwrot``, ``zwrotu``, ``zwrotem``; English ``bag``, ``bags``).

Looked up by simplemma, dictionary-based and offline (about 50 languages, no model to download), in each
item's language. A word it does not know stays as written, as does every word of a language it does not
cover. Items of unknown or undetermined (``und``) language try English, then Polish.

Example:
    >>> lemmatised(["Nadal brak zwrotu pieniędzy", "Two bags lost"], langs=["pl", "en"])
    ['nadal brak zwrot pieniądz', 'two bag lose']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import pandas as pd

from voxlens.sentiment.language import FALLBACK_LANGUAGES, UNDETERMINED


def lemmatised(texts: Sequence[str], langs: Sequence[str | None] | None = None,
               stop_words: Iterable[str] = ()) -> list[str]:
    """Each text as its lower-cased words (``TOKEN_PATTERN``) replaced by their lemmas, joined by spaces.

    ``langs`` gives each text's language code (None, NaN or ``und``: unknown); ``stop_words`` are dropped as
    written, before lemmatising (so ``was`` does not become a content word through its lemma).
    """
    if langs is None:
        langs = [None] * len(texts)
    if len(langs) != len(texts):
        raise ValueError(f"{len(langs)} languages for {len(texts)} texts: give one per text")
    stop = _stop_set(tuple(sorted(set(stop_words))))
    return [_lemmatised_text("" if pd.isna(text) else str(text), _language(lang), stop)
            for text, lang in zip(texts, langs)]


def _language(lang: object) -> str | tuple[str, ...]:
    """simplemma's language argument for an item: its own code when simplemma covers it."""
    if lang is None or pd.isna(lang):
        return FALLBACK_LANGUAGES
    code = str(lang).strip().lower().split("-")[0].split("_")[0]    # pt-BR, zh_Hans: the language itself
    if code in ("", UNDETERMINED):
        return FALLBACK_LANGUAGES
    return code if _covered(code) else ""


@lru_cache(maxsize=16)
def _stop_set(words: tuple[str, ...]) -> frozenset[str]:
    """One set object per list, so the text cache below compares keys by identity."""
    return frozenset(words)


@lru_cache(maxsize=None)
def _covered(code: str) -> bool:
    import simplemma

    try:
        simplemma.lemmatize("test", lang=code)
    except ValueError:      # simplemma's "Unsupported language"
        return False
    return True


@lru_cache(maxsize=1 << 16)     # daily runs re-read the same weeks of items
def _lemmatised_text(text: str, lang: str | tuple[str, ...], stop: frozenset[str]) -> str:
    from voxlens.sentiment.topics import TOKEN_PATTERN

    words = [w for w in re.findall(TOKEN_PATTERN, text.lower()) if w not in stop]
    return " ".join(_lemma(w, lang) for w in words) if lang else " ".join(words)


@lru_cache(maxsize=1 << 18)
def _lemma(word: str, lang: str | tuple[str, ...]) -> str:
    import simplemma

    return simplemma.lemmatize(word, lang=lang).lower()
