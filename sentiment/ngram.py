"""A small word + character n-gram sentiment model (TF-IDF over hashed n-grams, multinomial logistic
regression), for languages the English-only MiniLM encoder does not read, such as Polish.

The features are stateless (scikit-learn's ``HashingVectorizer``), so the artefact is only the learnt
weights: ``ngram.npz`` (idf, coefficients, intercepts, in float16; class offsets) and ``card.json`` (feature
settings, provenance, metrics). ``models/train_polish.py`` trains the shipped Polish model.

Feature settings: word 1–2-grams; character n-grams within words (``char_wb``) or across word boundaries
(``char``); optionally crude stems (the first ``stem_chars`` letters of each word, which for an inflected
language such as Polish merges most forms of a word) as 1–2-grams. ``bias_`` holds log-probability offsets
per class (zero unless fitted, e.g. on a validation split with :meth:`NgramSentimentModel.fit_bias`).

Example:
    >>> texts = ["świetny produkt, polecam", "tragedia, nie polecam", "produkt dotarł we wtorek"] * 5
    >>> labels = ["positive", "negative", "neutral"] * 5
    >>> model = NgramSentimentModel(n_features=2**12).fit(texts, labels)
    >>> model.predict_proba(["polecam, świetny"]).argmax(axis=1).tolist()
    [2]
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from voxlens.sentiment.artefact import read_artefact

LABELS = ("negative", "neutral", "positive")


_WORD = re.compile(r"(?u)\w+")


def words(text: str) -> list[str]:
    """The lower-cased words of ``text`` (runs of letters and digits), as the stem and lemma n-grams read them.

    >>> words("Pokój czysty , obsługa miła !")
    ['pokój', 'czysty', 'obsługa', 'miła']
    """
    return _WORD.findall(str(text).lower())


def stem_ngrams(text: str, stem_chars: int) -> list[str]:
    """Crude stems (the first ``stem_chars`` letters of each lower-cased word) as unigrams and bigrams.

    >>> stem_ngrams("Polecam, świetne słuchawki", 5)
    ['s:polec', 's:świet', 's:słuch', 's:polec s:świet', 's:świet s:słuch']
    """
    stems = ["s:" + word[:stem_chars] for word in words(text)]
    return stems + [f"{a} {b}" for a, b in zip(stems, stems[1:])]


NEGATIONS = frozenset({"nie", "bez", "brak", "ani"})
"""Polish words that negate the word after them (``nie polecam``, ``bez problemu``, ``brak kontaktu``)."""


def lemma_ngrams(text: str, lang: str = "pl", negation: bool = False) -> list[str]:
    """The lemmas of the lower-cased words (simplemma, offline; an unknown word stays as written) as unigrams
    and bigrams; with ``negation``, a word after one of :data:`NEGATIONS` is also read as its negated lemma.

    >>> lemma_ngrams("Nie polecam", negation=True)
    ['l:nie', 'l:polecać', 'l:nie_polecać', 'l:nie l:polecać']
    """
    from voxlens.sentiment.lemmas import _lemma

    lemmas = ["l:" + _lemma(word, lang) for word in words(text)]
    negated = ([f"l:{a[2:]}_{b[2:]}" for a, b in zip(lemmas, lemmas[1:]) if a[2:] in NEGATIONS]
               if negation else [])
    return lemmas + negated + [f"{a} {b}" for a, b in zip(lemmas, lemmas[1:])]


class NgramSentimentModel:
    """TF-IDF over hashed word (1–2), character and optional stem n-grams + logistic regression.

    Args:
        n_features: hash buckets per feature kind (word, character and stem n-grams each).
        C: inverse regularisation strength of the logistic regression.
        class_weight: None or ``"balanced"``.
        card: free-form metadata saved with the model (``version``, provenance, metrics).
        char_analyzer: ``"char_wb"`` (character n-grams within words), ``"char"`` (across word boundaries)
            or None (no character n-grams).
        char_ngrams: the (min, max) length of the character n-grams.
        stem_chars: 0 for no stem features, else the stem length (see :func:`stem_ngrams`).
        block_norm: scale each feature kind to unit length before the row is normalised, so the word
            n-grams weigh as much as the far more numerous character n-grams (False: one norm for the row).
        lemmas: add the words' lemmas as 1–2-grams (see :func:`lemma_ngrams`; Polish).
        negation: with ``lemmas``, also the negated lemma of each word after a negation (``l:nie_polecać``).
    """

    def __init__(self, n_features: int = 2**17, C: float = 4.0, class_weight: str | None = None,
                 card: dict | None = None, char_analyzer: str | None = "char_wb", char_ngrams: tuple[int, int] = (2, 5),
                 stem_chars: int = 0, block_norm: bool = False, lemmas: bool = False,
                 negation: bool = False) -> None:
        self.n_features = n_features
        self.C = C
        self.class_weight = class_weight
        self.card = card or {}
        self.char_analyzer = char_analyzer
        self.char_ngrams = tuple(char_ngrams)
        self.stem_chars = stem_chars
        self.block_norm = block_norm
        self.lemmas = lemmas
        self.negation = negation

    def _vectorizers(self):
        from functools import partial

        from sklearn.feature_extraction.text import HashingVectorizer

        common = dict(n_features=self.n_features, alternate_sign=False, norm=None, dtype=np.float32)
        vectorizers = [
            HashingVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", lowercase=True,
                              **common)]
        if self.char_analyzer:
            vectorizers.append(HashingVectorizer(analyzer=self.char_analyzer, ngram_range=self.char_ngrams,
                                                 lowercase=True, **common))
        if self.stem_chars:
            vectorizers.append(HashingVectorizer(analyzer=partial(stem_ngrams, stem_chars=self.stem_chars), **common))
        if self.lemmas:
            vectorizers.append(HashingVectorizer(analyzer=partial(lemma_ngrams, negation=self.negation), **common))
        return vectorizers

    def _counts(self, texts: Sequence[str]):
        from scipy import sparse

        texts = [str(t) for t in texts]
        return sparse.hstack([v.transform(texts) for v in self._vectorizers()]).tocsr()

    def _features(self, texts: Sequence[str]):
        from sklearn.preprocessing import normalize

        x = self._counts(texts)
        x.data = 1.0 + np.log(x.data)          # sublinear term frequency
        x = x.multiply(self.idf_.astype(np.float32)).tocsr()
        if self.block_norm:                    # each feature kind gets unit length, then the row does
            from scipy import sparse

            width = self.n_features
            x = sparse.hstack([normalize(x[:, i:i + width]) for i in range(0, x.shape[1], width)]).tocsr()
        return normalize(x)

    def fit(self, texts: Sequence[str], labels: Sequence[str], sample_weight: np.ndarray | None = None
            ) -> "NgramSentimentModel":
        """Learn the idf and the classifier from ``texts`` labelled negative/neutral/positive."""
        self.fit_idf(texts)
        return self.fit_features(self._features(texts), labels, sample_weight)

    def fit_idf(self, texts: Sequence[str]) -> "NgramSentimentModel":
        """Learn only the inverse document frequencies (then :meth:`features` and :meth:`fit_features`)."""
        counts = self._counts(texts)
        document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf_ = (np.log((1 + counts.shape[0]) / (1 + document_frequency)) + 1).astype(np.float32)
        return self

    def features(self, texts: Sequence[str]):
        """The normalised TF-IDF rows of ``texts`` (after :meth:`fit_idf`)."""
        return self._features(texts)

    def fit_features(self, x, labels: Sequence[str], sample_weight: np.ndarray | None = None
                     ) -> "NgramSentimentModel":
        """Learn the classifier from precomputed :meth:`features` (so a grid search computes them once)."""
        from sklearn.linear_model import LogisticRegression

        y = np.array([LABELS.index(label) for label in labels])
        classifier = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=1000)
        classifier.fit(x, y, sample_weight=sample_weight)
        self.coef_ = classifier.coef_.astype(np.float32)
        self.intercept_ = classifier.intercept_.astype(np.float32)
        self.bias_ = np.zeros(len(LABELS), dtype=np.float32)
        return self

    def fit_bias(self, x, labels: Sequence[str], groups: Sequence[str] | None = None,
                 grid: np.ndarray = np.linspace(-1.0, 1.0, 21)) -> "NgramSentimentModel":
        """Choose the neutral and positive log-probability offsets (negative fixed at 0) that maximise the
        macro-F1 of precomputed :meth:`features` ``x`` (the mean over ``groups``, e.g. one per validation set)."""
        from sklearn.metrics import f1_score

        self.bias_ = np.zeros(len(LABELS), dtype=np.float32)
        logits = np.log(np.clip(self.predict_features(x), 1e-12, None))
        y = np.array([LABELS.index(label) for label in labels])
        groups = np.asarray(groups if groups is not None else [""] * len(y))
        best = (-1.0, self.bias_)
        for neutral in grid:
            for positive in grid:
                bias = np.array([0.0, neutral, positive], dtype=np.float32)
                predicted = (logits + bias).argmax(axis=1)
                score = np.mean([f1_score(y[groups == g], predicted[groups == g], average="macro")
                                 for g in np.unique(groups)])
                if score > best[0] + 1e-9:
                    best = (score, bias)
        self.bias_ = best[1]
        return self

    def drop_domain_features(self, x, domains: Sequence[str], n: int) -> "NgramSentimentModel":
        """Leave out the ``n`` features of precomputed :meth:`features` ``x`` that tell its ``domains`` apart
        best (largest chi-squared statistic, e.g. ``lekarz`` or ``hotel`` between medical, hotel and product
        reviews): their idf becomes 0, so they are absent from every later :meth:`features` row. Call before
        :meth:`fit_features`, with ``x`` passed through :meth:`keep_features`."""
        from sklearn.feature_selection import chi2

        statistic, _ = chi2(x, np.asarray(domains))
        order = np.argsort(-np.nan_to_num(statistic), kind="stable")
        self.idf_ = self.idf_.copy()
        self.idf_[order[:n]] = 0.0
        self.dropped_features_ = int(n)
        return self

    def keep_features(self, x):
        """Precomputed :meth:`features` with the dropped features (idf 0) removed and the rows normalised again,
        as :meth:`features` computes them after :meth:`drop_domain_features`."""
        from scipy import sparse
        from sklearn.preprocessing import normalize

        return normalize(x @ sparse.diags((self.idf_ > 0).astype(np.float32)))

    def predict_features(self, x) -> np.ndarray:
        """Probabilities from precomputed :meth:`features`."""
        logits = np.asarray(x @ self.coef_.T) + self.intercept_ + getattr(self, "bias_", 0.0)
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return probs / probs.sum(axis=1, keepdims=True)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 3) probabilities in the order negative, neutral, positive."""
        if not len(texts):
            return np.zeros((0, 3))
        return self.predict_features(self._features(texts))

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(directory / "ngram.npz", idf=self.idf_.astype(np.float16),
                            coef=self.coef_.astype(np.float16), intercept=self.intercept_,
                            bias=getattr(self, "bias_", np.zeros(len(LABELS), dtype=np.float32)))
        card = {**self.card, "kind": "ngram", "classes": list(LABELS), "n_features": self.n_features,
                "C": self.C, "class_weight": self.class_weight, "char_analyzer": self.char_analyzer,
                "char_ngrams": list(self.char_ngrams), "stem_chars": self.stem_chars,
                "block_norm": self.block_norm, "lemmas": self.lemmas, "negation": self.negation,
                "dropped_domain_features": getattr(self, "dropped_features_", 0),
                "class_offsets": [round(float(b), 4) for b in getattr(self, "bias_", np.zeros(len(LABELS)))]}
        (directory / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, directory: str | Path) -> "NgramSentimentModel":
        card, arrays = read_artefact(directory, "ngram.npz", f"no n-gram sentiment model in {directory}")
        model = cls(card["n_features"], card.get("C", 4.0), card.get("class_weight"), card,
                    card.get("char_analyzer", "char_wb"), tuple(card.get("char_ngrams", (2, 5))),
                    card.get("stem_chars", 0), card.get("block_norm", False), card.get("lemmas", False),
                    card.get("negation", False))
        model.idf_ = arrays["idf"].astype(np.float32)
        model.coef_ = arrays["coef"].astype(np.float32)
        model.intercept_ = arrays["intercept"].astype(np.float32)
        model.bias_ = (arrays["bias"].astype(np.float32) if "bias" in arrays.files
                       else np.zeros(len(LABELS), dtype=np.float32))
        return model


def is_ngram_dir(path: str | Path) -> bool:
    """Whether ``path`` holds a saved :class:`NgramSentimentModel`."""
    return (Path(path) / "ngram.npz").exists()


class NgramScorer:
    """A saved :class:`NgramSentimentModel` as a :class:`voxlens.sentiment.SentimentModel` scorer."""

    recency = 0.0
    whole_text = True

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _load(self) -> None:
        if getattr(self, "model_", None) is None:
            self.model_ = NgramSentimentModel.load(self.directory)

    @property
    def name(self) -> str:
        self._load()
        return f"{self.model_.card.get('name', self.directory.name)}@{self.model_.card.get('version', 'dev')}"

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        return self.model_.predict_proba(list(texts)).astype(np.float64)
