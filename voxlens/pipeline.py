"""The analysis flow over the store: language → sentiment → topics → issues.

Each step reads what is not yet done from the store and commits per chunk, so an interrupted run
resumes where it stopped and a re-run does nothing new.

Example:
    >>> from voxlens.store import Store
    >>> from voxlens.pipeline import Pipeline
    >>> with Store(":memory:") as store:
    ...     Pipeline(store).analyze()  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from collectors.base import utc_now
from metrics.emerging import IssueDetector
from sentiment.encoder import Encoder
from sentiment.language import detect_languages
from sentiment.model import SentimentModel
from sentiment.topics import OUTLIER, TopicModel
from voxlens.store import Store


@dataclass
class AnalyzeSummary:
    languages: int = 0
    scored: int = 0
    assigned: int = 0
    new_topics: list[int] = field(default_factory=list)
    outliers: int = 0

    def __str__(self) -> str:
        return (f"languages detected {self.languages}, sentiment scored {self.scored}, "
                f"topics assigned {self.assigned} ({self.outliers} outliers), new topics {len(self.new_topics)}")


class Pipeline:
    """Run analysis steps against a store.

    Args:
        store: the store to read and write.
        sentiment: the sentiment model (default: the offline model).
        encoder: the sentence encoder for topics (default: the offline MiniLM).
        topic_model: parameters for new topic models (a :class:`TopicModel` used as a template).
        detector: the emerging-issue detector.
        chunk_size: items per committed chunk.
        progress: show progress bars.
    """

    def __init__(self, store: Store, sentiment: SentimentModel | None = None, encoder: Encoder | None = None,
                 topic_model: TopicModel | None = None, detector: IssueDetector | None = None,
                 chunk_size: int = 2000, progress: bool = False) -> None:
        self.store = store
        self.sentiment = sentiment or SentimentModel(progress=False)
        self.encoder = encoder or Encoder(progress=False)
        self.topic_template = topic_model or TopicModel()
        self.detector = detector or IssueDetector()
        self.chunk_size = chunk_size
        self.progress = progress

    # -- analyze ----------------------------------------------------------------------------
    def analyze(self) -> AnalyzeSummary:
        """Detect languages, score sentiment and assign topics for every item not yet analysed."""
        summary = AnalyzeSummary()
        summary.languages = self._detect_languages()
        summary.scored = self._score_sentiment()
        self._assign_topics(summary)
        return summary

    def _detect_languages(self) -> int:
        todo = self.store.query("SELECT item_id, text FROM items WHERE lang IS NULL")
        if todo.empty:
            return 0
        todo["lang"] = detect_languages(tqdm(todo["text"], desc="language", disable=not self.progress))
        with self.store.transaction():
            self.store.con.register("_langs", todo[["item_id", "lang"]])
            try:
                self.store.execute(
                    "UPDATE items SET lang = _langs.lang FROM _langs WHERE items.item_id = _langs.item_id")
            finally:
                self.store.con.unregister("_langs")
        return len(todo)

    def _score_sentiment(self) -> int:
        model = self.sentiment.name
        sql = ("SELECT i.item_id, i.text, i.lang FROM items i LEFT JOIN scores s "
               "ON s.item_id = i.item_id AND s.model = ? WHERE s.item_id IS NULL ORDER BY i.item_id")
        todo = self.store.query(sql, [model])
        bar = tqdm(total=len(todo), desc="sentiment", unit="item", disable=not self.progress)
        for start in range(0, len(todo), self.chunk_size):
            chunk = todo.iloc[start:start + self.chunk_size]
            scores = self.sentiment.predict(chunk["text"].tolist(), langs=chunk["lang"].tolist())
            scores = scores[["label", "score", "p_negative", "p_neutral", "p_positive"]]
            scores.insert(0, "item_id", chunk["item_id"].to_numpy())
            scores.insert(1, "model", model)
            scores["scored_at"] = utc_now()
            with self.store.transaction():
                self.store.upsert("scores", scores, key=["item_id", "model"])
            bar.update(len(chunk))
        bar.close()
        return len(todo)

    def topic_model(self) -> TopicModel | None:
        """The stored topic model, or None before the first fit."""
        info = self.store.query("SELECT topic_id, label, keywords, size, centroid FROM topic_info ORDER BY topic_id")
        if info.empty:
            return None
        params = {k: getattr(self.topic_template, k) for k in
                  ("n_topics", "max_topics", "min_similarity", "clusterer", "vectorizer", "languages", "random_state",
                   "merge_similarity")}
        return TopicModel.from_info(info, **params)

    def _assign_topics(self, summary: AnalyzeSummary) -> None:
        todo = self.store.query(
            "SELECT i.item_id, i.text, coalesce(i.created_at, i.collected_at) AS created_at, i.lang "
            "FROM items i LEFT JOIN topics t ON t.item_id = i.item_id WHERE t.item_id IS NULL ORDER BY i.item_id")
        if todo.empty:
            return
        embeddings = self._embed(todo["text"].tolist())
        model = self.topic_model()
        if model is None:
            languages = sorted(set(todo["lang"].dropna()) | {"en"})
            model = _with_languages(self.topic_template, languages).fit(todo["text"].tolist(), embeddings)
            summary.new_topics = list(model.topics_)
        assigned = model.transform(embeddings)
        outliers = (assigned["topic_id"] == OUTLIER).to_numpy()
        if outliers.sum() >= 10:
            new = model.update(todo["text"][outliers].tolist(), embeddings[outliers])
            if new:
                summary.new_topics += new
                assigned = model.transform(embeddings)
        assigned.insert(0, "item_id", todo["item_id"].to_numpy())
        summary.assigned = len(assigned)
        summary.outliers = int((assigned["topic_id"] == OUTLIER).sum())
        info = model.info()
        first_seen = (todo.assign(topic_id=assigned["topic_id"].to_numpy())
                      .groupby("topic_id")["created_at"].quantile(0.02).dt.date)
        with self.store.transaction():
            self.store.upsert("topics", assigned, key=["item_id"])
            stored_first_seen = dict(self.store.execute("SELECT topic_id, first_seen FROM topic_info"))
            info["first_seen"] = [stored_first_seen.get(t) or first_seen.get(t) for t in info["topic_id"]]
            sizes = dict(self.store.execute(
                "SELECT topic_id, count(*) FROM topics GROUP BY topic_id"))
            info["size"] = [int(sizes.get(t, 0)) for t in info["topic_id"]]
            self.store.upsert("topic_info", info, key=["topic_id"])

    def _embed(self, texts: list[str]) -> np.ndarray:
        chunks = [self.encoder.encode(texts[i:i + self.chunk_size]) for i in
                  tqdm(range(0, len(texts), self.chunk_size), desc="embedding", disable=not self.progress)]
        return np.concatenate(chunks) if chunks else np.zeros((0, 1), dtype=np.float32)

    # -- detect -------------------------------------------------------------------------------
    def analysed_items(self) -> pd.DataFrame:
        """Items with their sentiment and topic: the frame detectors and reports work on."""
        return self.store.query(
            "SELECT i.item_id, i.source, i.external_id, i.channel, coalesce(i.created_at, i.collected_at) "
            "AS created_at, i.text, i.title, i.lang, i.rating, i.url, i.response_id, s.label, s.score, "
            "s.p_negative, t.topic_id, t.probability FROM items i "
            "JOIN scores s ON s.item_id = i.item_id AND s.model = ? "
            "LEFT JOIN topics t ON t.item_id = i.item_id",
            [self.sentiment.name],
        )

    def detect(self, as_of: date | None = None) -> pd.DataFrame:
        """Run the detector over analysed items and replace the stored issues with its result."""
        items = self.analysed_items()
        items["negative"] = items["label"] == "negative"
        items["topic_id"] = items["topic_id"].fillna(OUTLIER).astype(int)
        responses = self.store.query("SELECT response_id, submitted_at, nps FROM responses")
        issues = self.detector.detect(items, as_of=pd.Timestamp(as_of) if as_of else None,
                                      responses=responses if len(responses) else None)
        issues["detected_at"] = utc_now()
        with self.store.transaction():
            self.store.execute("DELETE FROM issues")
            self.store.upsert("issues", issues, key=["issue_id"])
        return issues


def _with_languages(template: TopicModel, languages: list[str]) -> TopicModel:
    params: dict[str, Any] = template.__dict__.copy()
    params = {k: v for k, v in params.items() if not k.endswith("_")}
    params["languages"] = languages
    return TopicModel(**params)
