"""Topic labels that name the theme: class-based TF-IDF, frequent-word reduction and a diversity step.

Words that say nothing about one theme are left out before ranking: @handles, URLs and numbers; words
that are also a frequent @handle (the brand written without its @: ``@JetBlue`` … ``jetblue``); words in
more than ``max_df`` of all texts (the product itself); stop words of every language present; bigrams of
one word twice. Among the best candidates by class-based TF-IDF, a maximal-marginal-relevance step (as
in KeyBERT and BERTopic's ``MaximalMarginalRelevance``) prefers words that occur in other texts of the
topic than the words already chosen, and never repeats a word already in the label.

Example:
    >>> texts = ["@AirCo my bag was lost", "@AirCo lost bag again, no baggage desk", "@AirCo lost luggage",
    ...          "@AirCo refund still not paid", "@AirCo where is my refund", "@AirCo refund request ignored"]
    >>> labels = TopicLabeller(languages=("en",)).fit([0, 0, 0, 1, 1, 1], texts)
    >>> labels.keywords_[0][:2], labels.keywords_[1][:1]
    (['lost', 'bag'], ['refund'])
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

OUTLIER = -1
TOKEN_PATTERN = r"(?u)\b[^\W\d_]{3,}\b"
SEPARATOR = " · "
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@(\w{2,})")
_REPEAT = re.compile(r"\b(\w+)(?:\s+\1\b)+", re.IGNORECASE)


def multilingual_stop_words(languages: Sequence[str] = ("en", "pl")) -> list[str]:
    """Stop words of every language given (from the ``stop-words`` package), split into tokens.

    >>> {"the", "się"} <= set(multilingual_stop_words(("en", "pl")))
    True
    """
    from stop_words import get_stop_words

    words: set[str] = set()
    for lang in languages:
        try:
            listed = get_stop_words(lang)
        except Exception:  # an unsupported language has no list; keywords still work
            continue
        for word in listed:  # split "don't" into the tokens the vectoriser will see
            words.update(re.findall(TOKEN_PATTERN, word.lower()))
    return sorted(words)


def clean_text(text: str) -> str:
    """Text without URLs, @handles and ``#`` marks, lower-cased, a word repeated in a row kept once.

    >>> clean_text("@JetBlue  #fail   flight flight delayed http://t.co/x")
    'fail flight delayed'
    """
    text = _HANDLE.sub(" ", _URL.sub(" ", str(text))).replace("#", " ").lower()
    return " ".join(_REPEAT.sub(r"\1", text).split())


def handle_words(texts: Sequence[str], min_share: float = 0.01) -> set[str]:
    """Lower-cased @handles found in at least ``min_share`` of the texts (and at least twice)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({h.lower() for h in _HANDLE.findall(str(text))})
    least = max(2, min_share * len(texts))
    return {handle for handle, count in counts.items() if count >= least}


class TopicLabeller:
    """Keywords and a label per topic.

    Args:
        languages: languages whose stop words are left out.
        vectorizer: a CountVectorizer-like object (default: words and bigrams of ``TOKEN_PATTERN``).
        max_df: words in more than this share of all texts (or of 1.5 topics' average share, whichever is
            more) name the corpus, not a topic, and are left out.
        max_spread: with at least four topics, a term among the ``spread_top`` best of more than this share
            of the topics is everywhere (the product, the brand) and is left out.
        top_n: keywords kept per topic; the label joins the first ``label_words``.
        candidates: best c-TF-IDF terms the diversity step chooses from.
        diversity: weight of novelty against relevance in the diversity step (0: c-TF-IDF order).

    Sets ``keywords_`` and ``labels_`` (dicts by topic id).
    """

    def __init__(self, languages: Sequence[str] = ("en",), vectorizer: Any = None, max_df: float = 0.2,
                 max_spread: float = 0.5, spread_top: int = 10, top_n: int = 6, label_words: int = 3,
                 candidates: int = 20, diversity: float = 0.3) -> None:
        self.languages = languages
        self.vectorizer = vectorizer
        self.max_df = max_df
        self.max_spread = max_spread
        self.spread_top = spread_top
        self.top_n = top_n
        self.label_words = label_words
        self.candidates = candidates
        self.diversity = diversity

    def _make_vectorizer(self, stop: list[str]) -> Any:
        if self.vectorizer is not None:
            from sklearn.base import clone

            return clone(self.vectorizer)
        from sklearn.feature_extraction.text import CountVectorizer

        return CountVectorizer(stop_words=stop, ngram_range=(1, 2), token_pattern=TOKEN_PATTERN, min_df=1)

    def fit(self, topic_ids: Sequence[int], texts: Sequence[str]) -> "TopicLabeller":
        """Learn keywords for every topic in ``topic_ids`` (outliers, -1, are left out)."""
        topic_ids = np.asarray(topic_ids)
        topics = sorted(int(t) for t in set(topic_ids.tolist()) - {OUTLIER})
        self.keywords_ = {t: [] for t in topics}
        self.labels_ = {t: f"topic {t}" for t in topics}
        cleaned = [clean_text(t) for t in texts]
        stop = sorted(set(multilingual_stop_words(self.languages)) | handle_words(texts))
        vectorizer = self._make_vectorizer(stop)
        inside = topic_ids != OUTLIER
        try:
            counts = vectorizer.fit_transform([c for c, keep in zip(cleaned, inside) if keep]).tocsc()
        except ValueError:  # nothing but stop words
            return self
        vocabulary = np.asarray(vectorizer.get_feature_names_out())
        present = (counts > 0).astype(np.float64)
        share = np.asarray(present.mean(axis=0)).ravel()
        allowed = ~_repeats(vocabulary) & ~np.isin(vocabulary, stop)
        if len(topics) >= 2:        # in more texts than 1.5 topics hold on average: everywhere, not a theme
            allowed &= share <= max(self.max_df, 1.5 / len(topics))
        members = topic_ids[inside]
        per_topic = np.vstack([np.asarray(counts[members == t].sum(axis=0)).ravel() for t in topics])
        weights = _ctfidf(per_topic) * allowed
        if len(topics) >= 4:
            best = np.argsort(-weights, axis=1, kind="stable")[:, :self.spread_top]
            spread = np.bincount(best.ravel(), minlength=weights.shape[1]) / len(topics)
            weights[:, spread > self.max_spread] = 0.0
        for row, topic in enumerate(topics):
            words = _diverse(weights[row], present[members == topic].tocsc(), vocabulary, self.candidates,
                             self.top_n, self.diversity)
            self.keywords_[topic] = words
            if words:
                self.labels_[topic] = SEPARATOR.join(words[:self.label_words])
        return self


def _ctfidf(per_topic: np.ndarray) -> np.ndarray:
    """BERTopic's class-based TF-IDF: term frequency in the topic × log(1 + average words / term total)."""
    per_topic = per_topic.astype(np.float64)
    tf = per_topic / np.maximum(per_topic.sum(axis=1, keepdims=True), 1)
    average_words = per_topic.sum() / max(len(per_topic), 1)
    return tf * np.log(1 + average_words / np.maximum(per_topic.sum(axis=0), 1))


def _repeats(vocabulary: np.ndarray) -> np.ndarray:
    """Terms made of one word more than once ("jetblue jetblue")."""
    return np.array([len(set(term.split())) < len(term.split()) for term in vocabulary], dtype=bool)


def _overlaps(words: list[str], used: set[str]) -> bool:
    """Whether a word is already used, also as another form ("bag", "bags"; "bagaż", "bagażu")."""
    return any(_same_word(w, u) for w in words for u in used)


def _same_word(first: str, second: str) -> bool:
    short, long = sorted((first, second), key=len)
    return long.startswith(short) and (len(long) - len(short) <= 3 or len(short) >= 5)


def _diverse(weights: np.ndarray, present: Any, vocabulary: np.ndarray, candidates: int, top_n: int,
             diversity: float) -> list[str]:
    """Maximal marginal relevance over the best ``candidates`` terms: relevance is the c-TF-IDF weight,
    redundancy the cosine between the terms' occurrences in the topic's texts; a term sharing a word with
    one already chosen (or a form of it) is skipped."""
    order = [i for i in np.argsort(-weights, kind="stable")[:candidates] if weights[i] > 0]
    if not order:
        return []
    relevance = weights[order] / weights[order[0]]
    occurrence = present[:, order].toarray().T
    norms = np.maximum(np.linalg.norm(occurrence, axis=1, keepdims=True), 1e-12)
    similarity = (occurrence / norms) @ (occurrence / norms).T
    chosen: list[int] = []
    words_used: set[str] = set()
    while len(chosen) < top_n:
        best, best_score = None, -np.inf
        for j in range(len(order)):
            if j in chosen or _overlaps(vocabulary[order[j]].split(), words_used):
                continue
            redundancy = max((similarity[j, c] for c in chosen), default=0.0)
            score = (1 - diversity) * relevance[j] - diversity * redundancy
            if score > best_score:
                best, best_score = j, score
        if best is None:
            break
        chosen.append(best)
        words_used |= set(vocabulary[order[best]].split())
    return [str(vocabulary[order[j]]) for j in chosen]
