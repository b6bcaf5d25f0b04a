"""Topics: sentence embeddings clustered, labelled with class-based TF-IDF keywords.

The default clustering is a Ward tree cut where merges jump, with no giant topic
(:mod:`voxlens.sentiment.topic_clusters`); labels are c-TF-IDF keywords without handles, URLs, brand or
corpus-wide words, chosen for diversity (:mod:`voxlens.sentiment.topic_labels`). Each step is a swappable
part (as in BERTopic): ``clusterer`` is any scikit-learn clusterer with ``fit_predict``; ``vectorizer``
any ``CountVectorizer``-like object. Topic ids stay stable across runs:
:meth:`TopicModel.transform` assigns new texts to the nearest existing topic, and :meth:`TopicModel.update`
turns a dense group of unassigned texts into a new topic with a fresh id.

Example:
    >>> import numpy as np
    >>> texts = ["late delivery again", "delivery was late", "app crashes on login", "login crash"]
    >>> vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
    >>> model = TopicModel(n_topics=2).fit(texts, vectors)
    >>> model.transform(vectors)["topic_id"].nunique()
    2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from voxlens.sentiment.language import FALLBACK_LANGUAGES
from voxlens.sentiment.language_split import SHARED, language_groups
from voxlens.sentiment.topic_clusters import WardTopics
from voxlens.sentiment.topic_labels import TOKEN_PATTERN, TopicLabeller, multilingual_stop_words

OUTLIER = -1
__all__ = ["OUTLIER", "TOKEN_PATTERN", "TopicInfo", "TopicModel", "multilingual_stop_words", "normalise"]


@dataclass
class TopicInfo:
    topic_id: int
    label: str
    keywords: list[str]
    size: int
    centroid: np.ndarray


class TopicModel:
    """Cluster embeddings into topics with keyword labels.

    Args:
        n_topics: a fixed number of topics, or None to choose it by silhouette score.
        max_topics: upper bound when choosing.
        min_similarity: cosine similarity to the nearest centroid below which a text is an outlier.
        clusterer: a scikit-learn clusterer; default :class:`~voxlens.sentiment.topic_clusters.WardTopics`
            (KMeans with a silhouette-chosen k for fewer than 100 texts or when ``n_topics`` is set).
        vectorizer: a CountVectorizer-like object for keywords; default unigrams+bigrams without
            stop words of the languages present.
        max_df: words in more than this share of the texts (or of 1.5 topics' average share, whichever is
            more) name the corpus and are kept out of labels.
        max_fit: most texts the default clustering builds its tree on (the rest join the nearest topic).
        random_state: seed for every random step.
        merge_similarity: in :meth:`update`, new clusters whose centroids are at least this cosine-similar
            are one theme and become one topic.
        split_languages: with ``langs`` given to :meth:`fit` and :meth:`update`, cluster each language the
            encoder keeps apart on its own (an English-only encoder puts all Polish texts in one region, see
            :mod:`voxlens.sentiment.language_split`); a multilingual encoder mixes languages, and they share topics.
        min_language_items: fewest texts of a language for a clustering of its own in :meth:`fit`.
    """

    def __init__(self, n_topics: int | None = None, max_topics: int = 20, min_similarity: float = 0.25,
                 clusterer: Any = None, vectorizer: Any = None, languages: Sequence[str] = FALLBACK_LANGUAGES,
                 random_state: int = 0, merge_similarity: float = 0.9, split_languages: bool = True,
                 min_language_items: int = 50, max_df: float = 0.2, max_fit: int = 10_000) -> None:
        self.max_df = max_df
        self.max_fit = max_fit
        self.n_topics = n_topics
        self.merge_similarity = merge_similarity
        self.max_topics = max_topics
        self.min_similarity = min_similarity
        self.clusterer = clusterer
        self.vectorizer = vectorizer
        self.languages = languages
        self.random_state = random_state
        self.split_languages = split_languages
        self.min_language_items = min_language_items

    # -- fitting -----------------------------------------------------------------------------
    def _choose_k(self, embeddings: np.ndarray, distinct: int) -> int:
        """The silhouette-best number of clusters for ``embeddings`` (``distinct`` different vectors)."""
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score

        n = len(embeddings)
        upper = max(2, min(self.max_topics, n // 15))
        if upper <= 2 or distinct <= 2:
            return min(2, distinct)
        rng = np.random.default_rng(self.random_state)
        sample = embeddings[rng.choice(n, size=min(n, 2000), replace=False)]
        scores = {}
        for k in range(2, min(upper, distinct - 1) + 1):
            labels = KMeans(k, n_init=3, random_state=self.random_state).fit_predict(sample)
            if 2 <= len(np.unique(labels)) < len(sample):     # silhouette needs 2 to n - 1 clusters
                scores[k] = silhouette_score(sample, labels, metric="cosine")
        return max(scores, key=scores.get) if scores else 2

    def _cluster_by_language(self, embeddings: np.ndarray, langs: Sequence[str | None] | None,
                             min_items: int, n_topics: int | None) -> np.ndarray:
        """Cluster labels, each language the encoder keeps apart clustered on its own (``n_topics`` shared
        out by size); the other texts are clustered together if there are ``min_items`` of them."""
        groups = language_groups(langs, embeddings, self.split_languages, min_items, self.random_state)
        if (groups == SHARED).all():
            return self._cluster(embeddings, n_topics)
        labels, offset = np.full(len(embeddings), OUTLIER), 0
        for group in sorted(set(groups)):
            rows = np.flatnonzero(groups == group)
            if group == SHARED and len(rows) < min_items:
                continue        # a few stray texts: transform() gives them their nearest topic
            share = None if n_topics is None else max(1, round(n_topics * len(rows) / len(embeddings)))
            found = self._cluster(embeddings[rows], share)
            labels[rows] = np.where(found == OUTLIER, OUTLIER, found + offset)
            offset = labels.max() + 1
        return labels

    def _cluster(self, embeddings: np.ndarray, n_topics: int | None = None) -> np.ndarray:
        if self.clusterer is not None:
            from sklearn.base import clone

            return np.asarray(clone(self.clusterer).fit_predict(embeddings))
        from sklearn.cluster import KMeans

        n = len(embeddings)
        if n_topics is not None or n < 100:
            distinct = _distinct_rows(embeddings)
            k = min(distinct, n_topics or self._choose_k(embeddings, distinct))
            return KMeans(k, n_init=5, random_state=self.random_state).fit_predict(embeddings)
        return WardTopics(max_fit=self.max_fit, random_state=self.random_state).fit_predict(embeddings)

    def fit(self, texts: Sequence[str], embeddings: np.ndarray,
            langs: Sequence[str | None] | None = None) -> "TopicModel":
        """Learn topics from scratch; topic ids are numbered by size, largest first.

        ``langs`` (a language code per text, None where unknown) lets each language the encoder keeps
        apart be clustered on its own (``split_languages``).

        Sets ``cluster_outlier_share_`` (texts the clusterer left out) and ``outlier_share_`` (texts still
        outliers after assignment to the nearest topic, the share that :meth:`transform` reports as -1).
        """
        embeddings = normalise(embeddings)
        raw = self._cluster_by_language(embeddings, langs, self.min_language_items, self.n_topics)
        sizes = pd.Series(raw[raw != OUTLIER]).value_counts()
        renumber = {old: new for new, old in enumerate(sizes.index)}
        labels = np.array([renumber.get(c, OUTLIER) for c in raw])
        self.topics_ = self._describe(texts, embeddings, labels)
        self.cluster_outlier_share_ = float((labels == OUTLIER).mean()) if len(labels) else 0.0
        self.outlier_share_ = float((self.transform(embeddings)["topic_id"] == OUTLIER).mean()) if len(labels) else 0.0
        return self

    def _describe(self, texts: Sequence[str], embeddings: np.ndarray,
                  labels: np.ndarray) -> dict[int, TopicInfo]:
        labeller = TopicLabeller(languages=self.languages, vectorizer=self.vectorizer, max_df=self.max_df)
        labeller.fit(labels, texts)
        topics = {}
        for topic in sorted(set(labels.tolist()) - {OUTLIER}):
            members = labels == topic
            centroid = normalise(embeddings[members].mean(axis=0, keepdims=True))[0]
            topics[int(topic)] = TopicInfo(int(topic), labeller.labels_[topic], labeller.keywords_[topic],
                                           int(members.sum()), centroid)
        return topics

    # -- assigning -----------------------------------------------------------------------------
    def transform(self, embeddings: np.ndarray) -> pd.DataFrame:
        """Nearest topic per embedding: ``topic_id`` (-1 for outliers) and ``probability`` (cosine)."""
        if not getattr(self, "topics_", None):
            return pd.DataFrame({"topic_id": np.full(len(embeddings), OUTLIER), "probability": 0.0})
        ids = np.array(list(self.topics_))
        centroids = np.stack([self.topics_[i].centroid for i in ids])
        similarity = normalise(embeddings) @ centroids.T
        best = similarity.argmax(axis=1)
        best_similarity = similarity[np.arange(len(best)), best]
        topic = np.where(best_similarity >= self.min_similarity, ids[best], OUTLIER)
        return pd.DataFrame({"topic_id": topic.astype(int), "probability": best_similarity.astype(float)})

    def update(self, texts: Sequence[str], embeddings: np.ndarray, min_size: int = 10,
               langs: Sequence[str | None] | None = None) -> list[int]:
        """Cluster texts that fit no existing topic; groups of ``min_size`` or more become new topics.

        With ``langs``, languages the encoder keeps apart are clustered on their own, as in :meth:`fit`.
        Returns the new topic ids; existing ids never change.
        """
        if len(texts) < min_size:
            return []
        embeddings = normalise(embeddings)
        clustering = TopicModel(max_topics=max(2, len(texts) // min_size), clusterer=self.clusterer,
                                random_state=self.random_state, split_languages=self.split_languages,
                                max_fit=self.max_fit)
        labels = clustering._cluster_by_language(embeddings, langs, min_size, None)
        labels = _merge_close_clusters(embeddings, labels, self.merge_similarity)
        next_id = max(self.topics_, default=-1) + 1
        new_ids, mapped = [], np.full(len(labels), OUTLIER)
        for cluster in sorted(set(labels) - {OUTLIER}):
            members = labels == cluster
            centroid = normalise(embeddings[members].mean(axis=0, keepdims=True))[0]
            tight = (embeddings[members] @ centroid) >= self.min_similarity
            if members.sum() >= min_size and tight.mean() >= 0.8:
                mapped[members] = next_id
                new_ids.append(next_id)
                next_id += 1
        described = self._describe(texts, embeddings, mapped)
        self.topics_.update(described)
        return new_ids

    # -- persistence ---------------------------------------------------------------------------
    def info(self) -> pd.DataFrame:
        """One row per topic: ``topic_id``, ``label``, ``keywords``, ``size``, ``centroid``."""
        return pd.DataFrame([
            {"topic_id": t.topic_id, "label": t.label, "keywords": t.keywords, "size": t.size,
             "centroid": t.centroid.astype(np.float32).tolist()}
            for t in getattr(self, "topics_", {}).values()
        ], columns=["topic_id", "label", "keywords", "size", "centroid"])

    @classmethod
    def from_info(cls, info: pd.DataFrame, **params: Any) -> "TopicModel":
        """Rebuild a fitted model from :meth:`info` (as stored in ``topic_info``)."""
        model = cls(**params)
        model.topics_ = {
            int(row.topic_id): TopicInfo(int(row.topic_id), row.label, list(row.keywords),
                                         int(row.size or 0), np.asarray(row.centroid, dtype=np.float32))
            for row in info.itertuples()
        }
        return model


def normalise(vectors: np.ndarray, in_place: bool = False) -> np.ndarray:
    """Rows scaled to unit length (float32; all-zero rows stay zero). ``in_place``: a float32 array is scaled
    where it lies (no copy) and returned."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    if in_place:
        vectors /= norms
        return vectors
    return vectors / norms


def _merge_close_clusters(embeddings: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """Relabel clusters whose centroids have cosine similarity ≥ ``threshold`` as one cluster."""
    clusters = sorted(set(labels) - {OUTLIER})
    if len(clusters) < 2:
        return labels
    centroids = normalise(np.stack([embeddings[labels == c].mean(axis=0) for c in clusters]))
    parent = list(range(len(clusters)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    similarity = centroids @ centroids.T
    for i in range(len(clusters)):
        for j in range(i + 1, len(clusters)):
            if similarity[i, j] >= threshold:
                parent[root(j)] = root(i)
    mapping = {c: clusters[root(i)] for i, c in enumerate(clusters)}
    return np.array([mapping.get(c, OUTLIER) for c in labels])


def _distinct_rows(vectors: np.ndarray) -> int:
    """How many different vectors there are (repeated texts embed alike), at least 1."""
    return max(1, len(np.unique(np.round(vectors, 5), axis=0))) if len(vectors) else 1
