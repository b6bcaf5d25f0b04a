"""The analysis flow over the store: language → sentiment → topics → issues.

Each step reads what is not yet done from the store and commits per chunk, so an interrupted run
resumes where it stopped and a re-run does nothing new.

Example:
    >>> from voxlens.core.store import DETECTION_NOTE, Store
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

from voxlens.collectors.base import utc_now
from voxlens.metrics.emerging import IssueDetector
from voxlens.sentiment.encoder import Encoder
from voxlens.sentiment.language import detect_languages
from voxlens.ratings import TuneResult, store_sentiment_model, tune
from voxlens.sentiment.model import SentimentModel
from voxlens.sentiment.topics import OUTLIER, TopicModel
from voxlens.score_cache import ScoreCache
from voxlens.core.store import DETECTION_NOTE, Store


SCORE_COLUMNS = ["label", "score", "p_negative", "p_neutral", "p_positive"]


@dataclass
class AnalyzeSummary:
    languages: int = 0
    scored: int = 0
    assigned: int = 0
    new_topics: list[int] = field(default_factory=list)
    outliers: int = 0
    reused: int = 0

    def __str__(self) -> str:
        return (f"languages detected {self.languages}, sentiment scored {self.scored}, "
                f"topics assigned {self.assigned} ({self.outliers} outliers), new topics {len(self.new_topics)}")


class Pipeline:
    """Run analysis steps against a store.

    Args:
        store: the store to read and write.
        sentiment: the sentiment model (default: the store's, i.e. the offline model, or the head
            :meth:`tune` adopted for this store).
        encoder: the sentence encoder for topics (default: the offline MiniLM).
        topic_model: parameters for new topic models (a :class:`TopicModel` used as a template).
        detector: the emerging-issue detector.
        chunk_size: items per committed chunk (memory use grows with it, not with the store).
        fit_sample: most items a new topic model is fitted on (and most outliers kept for new topics).
        progress: show progress bars.
    """

    def __init__(self, store: Store, sentiment: SentimentModel | None = None, encoder: Encoder | None = None,
                 topic_model: TopicModel | None = None, detector: IssueDetector | None = None,
                 chunk_size: int = 2000, fit_sample: int = 10_000, progress: bool = False) -> None:
        self.store = store
        self._sentiment_given = sentiment is not None
        self.sentiment = sentiment or store_sentiment_model(store, progress=False)
        self._encoder_given = encoder
        self.encoder = encoder or Encoder(progress=False)
        self.fit_sample = fit_sample
        self.cache = ScoreCache(store)
        self.topic_template = topic_model or TopicModel()
        self.detector = detector or IssueDetector()
        self.chunk_size = chunk_size
        self.progress = progress

    # -- the store's own sentiment model ------------------------------------------------------
    def tune(self, folds: int = 5, languages: tuple[str, ...] = ("en",)) -> "TuneResult":
        """Fit the store's sentiment head on its rated items (:func:`voxlens.ratings.tune`); when it is
        adopted, this pipeline scores with it from now on, and :meth:`analyze` re-scores every item."""
        result = tune(self.store, folds=folds, languages=languages)
        if result.adopted and not self._sentiment_given:
            self.sentiment = store_sentiment_model(self.store, progress=False)
        return result

    # -- analyze ----------------------------------------------------------------------------
    def analyze(self) -> AnalyzeSummary:
        """Detect languages, score sentiment and assign topics for every item not yet analysed.

        Items stream from the store in chunks of ``chunk_size`` (memory stays bounded whatever the store's
        size); each text is embedded once for both sentiment and topics; each chunk is committed, so an
        interrupted run resumes where it stopped.
        """
        summary = AnalyzeSummary()
        summary.languages = self._detect_languages()
        state = _RunState(model=self.topic_model())
        if state.model is None:
            self._fit_topics(state, summary)
        self._stream(state, summary)
        self._update_topics(state, summary)
        summary.outliers = state.outliers
        if state.model is not None:
            self._store_topic_info(state.model)
        return summary

    def _detect_languages(self) -> int:
        done, last = 0, ""
        total = int(self.store.execute("SELECT count(*) FROM items WHERE lang IS NULL")[0][0])
        bar = tqdm(total=total, desc="language", unit="item", disable=not self.progress or not total)
        while True:
            todo = self.store.query("SELECT item_id, text FROM items WHERE lang IS NULL AND item_id > ? "
                                    "ORDER BY item_id LIMIT ?", [last, self.chunk_size])
            if todo.empty:
                break
            todo["lang"] = detect_languages(todo["text"])
            with self.store.transaction():
                self.store.con.register("_langs", todo[["item_id", "lang"]])
                try:
                    self.store.execute(
                        "UPDATE items SET lang = _langs.lang FROM _langs WHERE items.item_id = _langs.item_id")
                finally:
                    self.store.con.unregister("_langs")
            done, last = done + len(todo), todo["item_id"].iloc[-1]
            bar.update(len(todo))
        bar.close()
        return done

    def _shared_encoder(self) -> Encoder | None:
        """The sentiment model's encoder when its vectors also serve topics (so each text is embedded once)."""
        hook = getattr(self.sentiment, "embedding_encoder", None)
        encoder = hook() if hook else None
        if encoder is None or getattr(self.sentiment, "uncovered", "fallback") == "skip":
            return None  # "skip" leaves uncovered languages unscored: predict() applies it per text
        given = self._encoder_given
        if given is not None and (not hasattr(given, "config") or given.config() != encoder.config()):
            return None
        return encoder

    def _todo_sql(self, extra: str = "") -> str:
        return ("SELECT i.item_id, i.text, md5(i.text) AS text_hash, coalesce(i.created_at, i.collected_at) "
                "AS created_at, i.lang, s.item_id IS NULL AS need_score, t.item_id IS NULL AS need_topic "
                "FROM items i LEFT JOIN scores s ON s.item_id = i.item_id AND s.model = ? "
                "LEFT JOIN topics t ON t.item_id = i.item_id "
                f"WHERE (s.item_id IS NULL OR t.item_id IS NULL) {extra}")

    def _fit_topics(self, state: "_RunState", summary: AnalyzeSummary) -> None:
        """Fit topics on a bounded sample of unassigned items (all of them when there are few)."""
        sample = self.store.query(
            self._todo_sql("AND t.item_id IS NULL ORDER BY hash(i.item_id) LIMIT ?"),
            [self.sentiment.name, self.fit_sample])
        if sample.empty:
            return
        sample = sample.sort_values("item_id", kind="stable").reset_index(drop=True)
        embeddings = self._process(sample, state, summary, fit=True)
        state.model = fit_topic_model(self.topic_template, sample["text"].tolist(), embeddings,
                                      sample["lang"].tolist())
        summary.new_topics = list(state.model.topics_)
        self._store_topic_info(state.model)  # before any item points at a topic: a killed run resumes on it
        self._assign(sample, embeddings, state, summary)

    def _stream(self, state: "_RunState", summary: AnalyzeSummary) -> None:
        model_name = self.sentiment.name
        total = int(self.store.execute(f"SELECT count(*) FROM ({self._todo_sql()})", [model_name])[0][0])
        bar = tqdm(total=total, desc="analysing", unit="item", disable=not self.progress or not total)
        last = ""
        while True:
            chunk = self.store.query(self._todo_sql("AND i.item_id > ? ORDER BY i.item_id LIMIT ?"),
                                     [model_name, last, self.chunk_size])
            if chunk.empty:
                break
            embeddings = self._process(chunk, state, summary)
            self._assign(chunk, embeddings, state, summary)
            last = chunk["item_id"].iloc[-1]
            bar.update(len(chunk))
        bar.close()

    def _process(self, chunk: pd.DataFrame, state: "_RunState", summary: AnalyzeSummary,
                 fit: bool = False) -> np.ndarray:
        """Score the chunk's unscored items (reusing cached scores of identical text) and return embeddings
        of the items that need them: every item when ``fit``, else those without a topic."""
        model_name = self.sentiment.name
        need_score = chunk["need_score"].to_numpy(dtype=bool)
        cached = self.cache.lookup(chunk.loc[need_score, "text_hash"], model_name)
        hit = need_score & chunk["text_hash"].isin(cached.index).to_numpy()
        shared = self._shared_encoder()
        if fit:
            need_vector = np.ones(len(chunk), bool)
        elif state.model is not None:
            need_vector = chunk["need_topic"].to_numpy(dtype=bool)
        else:
            need_vector = np.zeros(len(chunk), bool)
        fresh = need_score & ~hit
        texts = chunk["text"].tolist()
        vectors = np.zeros((len(chunk), 0), dtype=np.float32)
        new_scores = cached.iloc[:0]
        if shared is not None:  # one encoder pass gives the scores and the topic vectors
            todo = need_vector | fresh
            if todo.any():
                predicted, embedded = self.sentiment.predict_and_embed(
                    [t for t, keep in zip(texts, todo) if keep], langs=chunk.loc[todo, "lang"].tolist())
                vectors = np.zeros((len(chunk), embedded.shape[1]), dtype=np.float32)
                vectors[todo] = embedded
                new_scores = predicted.loc[fresh[todo], SCORE_COLUMNS].reset_index(drop=True)
        else:
            if need_vector.any():
                embedded = self.encoder.encode([t for t, keep in zip(texts, need_vector) if keep])
                vectors = np.zeros((len(chunk), embedded.shape[1]), dtype=np.float32)
                vectors[need_vector] = embedded
            if fresh.any():
                rest = chunk[fresh]
                new_scores = self.sentiment.predict(rest["text"].tolist(), langs=rest["lang"].tolist())[SCORE_COLUMNS]
        if fresh.any():
            new_scores = new_scores.astype({c: float for c in SCORE_COLUMNS[1:]})
            new_scores.index = chunk.loc[fresh, "text_hash"].to_numpy()
        scores = pd.concat([cached.reindex(chunk.loc[hit, "text_hash"]), new_scores])
        if len(scores):
            rows = scores.reset_index(drop=True)
            rows.insert(0, "item_id", np.concatenate([chunk.loc[hit, "item_id"], chunk.loc[fresh, "item_id"]]))
            rows.insert(1, "model", model_name)
            rows["scored_at"] = utc_now()
            with self.store.transaction():
                self.store.upsert("scores", rows, key=["item_id", "model"])
                self.cache.add(new_scores, model_name)
            summary.scored += len(rows)
            summary.reused += int(hit.sum())
        chunk["need_score"] = False
        return vectors

    def _assign(self, chunk: pd.DataFrame, vectors: np.ndarray, state: "_RunState",
                summary: AnalyzeSummary) -> None:
        need = chunk["need_topic"].to_numpy(dtype=bool)
        if state.model is None or not need.any():
            return
        assigned = state.model.transform(vectors[need])
        assigned.insert(0, "item_id", chunk.loc[need, "item_id"].to_numpy())
        assigned["vector"] = list(vectors[need])
        with self.store.transaction():
            self.store.upsert("topics", assigned, key=["item_id"])
        chunk["need_topic"] = False
        summary.assigned += len(assigned)
        outlier = (assigned["topic_id"] == OUTLIER).to_numpy()
        state.outliers += int(outlier.sum())
        room = self.fit_sample - len(state.outlier_ids)
        if outlier.any() and room > 0:
            rows = np.flatnonzero(need)[outlier][:room]
            state.outlier_ids += chunk["item_id"].iloc[rows].tolist()
            state.outlier_texts += chunk["text"].iloc[rows].tolist()
            state.outlier_langs += chunk["lang"].iloc[rows].tolist()
            state.outlier_vectors.append(vectors[rows])

    def _update_topics(self, state: "_RunState", summary: AnalyzeSummary) -> None:
        """Outliers of this run (at most ``fit_sample`` of them) may form new topics."""
        if state.model is None or len(state.outlier_ids) < 10:
            return
        vectors = np.concatenate(state.outlier_vectors)
        new = state.model.update(state.outlier_texts, vectors, langs=state.outlier_langs)
        if not new:
            return
        summary.new_topics += new
        self._store_topic_info(state.model)
        assigned = state.model.transform(vectors)
        assigned.insert(0, "item_id", state.outlier_ids)
        assigned["vector"] = list(vectors)
        with self.store.transaction():
            self.store.upsert("topics", assigned, key=["item_id"])
        state.outliers -= int((assigned["topic_id"] != OUTLIER).sum())

    def _store_topic_info(self, model: TopicModel) -> None:
        info = model.info()
        with self.store.transaction():
            stored_first_seen = dict(self.store.execute("SELECT topic_id, first_seen FROM topic_info"))
            first_seen = dict(self.store.execute(
                "SELECT t.topic_id, quantile_disc(coalesce(i.created_at, i.collected_at), 0.02)::DATE "
                "FROM topics t JOIN items i ON i.item_id = t.item_id GROUP BY t.topic_id"))
            info["first_seen"] = [stored_first_seen.get(t) or first_seen.get(t) for t in info["topic_id"]]
            sizes = dict(self.store.execute("SELECT topic_id, count(*) FROM topics GROUP BY topic_id"))
            info["size"] = [int(sizes.get(t, 0)) for t in info["topic_id"]]
            self.store.upsert("topic_info", info, key=["topic_id"])

    def topic_model(self) -> TopicModel | None:
        """The stored topic model, or None before the first fit."""
        info = self.store.query("SELECT topic_id, label, keywords, size, centroid FROM topic_info ORDER BY topic_id")
        if info.empty:
            return None
        return TopicModel.from_info(info, **_parameters(self.topic_template))

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

    def detect(self, as_of: date | None = None, backfill: bool = False) -> pd.DataFrame:
        """Run the detector on every day since the last run through ``as_of`` (default: the latest item's
        day) and merge its findings into the stored issue log (see :mod:`voxlens.issues`).

        The first run on a store with history replays every day of it (a backfill), as ``backfill`` does on
        any run. Returns the findings of the last day.
        """
        from voxlens.issues import IssueTracker

        tracker = IssueTracker(self.store, detector=self.detector, model=self.sentiment.name,
                               progress=self.progress)
        return tracker.catch_up(as_of, backfill=backfill)

    @property
    def detection_note(self) -> str | None:
        """Why the last detection run could test nothing (too little history, ...), or None."""
        return self.store.get_meta(DETECTION_NOTE) or None


@dataclass
class _RunState:
    model: TopicModel | None
    outliers: int = 0
    outlier_ids: list[str] = field(default_factory=list)
    outlier_texts: list[str] = field(default_factory=list)
    outlier_langs: list[str | None] = field(default_factory=list)
    outlier_vectors: list[np.ndarray] = field(default_factory=list)


def _parameters(template: TopicModel) -> dict[str, Any]:
    """The template's constructor parameters (its attributes, fitted ones aside)."""
    return {k: v for k, v in template.__dict__.items() if not k.endswith("_")}


def fit_topic_model(template: TopicModel, texts: list[str], embeddings: np.ndarray,
                    langs: list[str | None]) -> TopicModel:
    """The topic model ``voxlens analyze`` fits on new items: the template's settings, with the stop words
    of every language present (and English), each language the encoder keeps apart clustered on its own.

    Example:
        >>> import numpy as np
        >>> vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
        >>> model = fit_topic_model(TopicModel(n_topics=2), ["late", "late again", "crash", "crash"], vectors,
        ...                         ["en"] * 4)
        >>> len(model.topics_)
        2
    """
    languages = sorted({lang for lang in langs if isinstance(lang, str)} | {"en"})
    return _with_languages(template, languages).fit(texts, embeddings, langs=list(langs))


def _with_languages(template: TopicModel, languages: list[str]) -> TopicModel:
    return TopicModel(**{**_parameters(template), "languages": languages})
