"""Sentiment scores cached by (text hash, model): identical text is never scored twice by one model.

The cache lives in the store as the table ``score_cache`` (created on first use). A re-imported item
with unchanged text, or the same text posted in many places, reuses the stored prediction.

Example:
    >>> import pandas as pd
    >>> from voxlens.core.store import Store
    >>> with Store(":memory:") as store:
    ...     cache = ScoreCache(store)
    ...     stored = cache.add(pd.DataFrame({"label": ["positive"], "score": [0.9], "p_negative": [0.02],
    ...                             "p_neutral": [0.06], "p_positive": [0.92]}, index=["h1"]), "m")
    ...     found = cache.lookup(["h1", "h2"], "m")
    >>> found["label"].tolist()
    ['positive']
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from voxlens.core.store import Store

COLUMNS = ["label", "score", "p_negative", "p_neutral", "p_positive"]


class ScoreCache:
    """Predictions keyed by ``md5(text)`` and model name, in the store's ``score_cache`` table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _ensure(self) -> None:
        if getattr(self, "ready_", False):
            return
        self.store.execute(
            "CREATE TABLE IF NOT EXISTS score_cache (text_hash VARCHAR NOT NULL, model VARCHAR NOT NULL, "
            "label VARCHAR NOT NULL, score DOUBLE NOT NULL, p_negative DOUBLE NOT NULL, "
            "p_neutral DOUBLE NOT NULL, p_positive DOUBLE NOT NULL, PRIMARY KEY (text_hash, model))")
        self.ready_ = True

    def lookup(self, hashes: Iterable[str], model: str) -> pd.DataFrame:
        """Cached predictions for the given text hashes (index: text_hash; missing hashes are left out)."""
        wanted = pd.DataFrame({"text_hash": pd.unique(pd.Series(list(hashes), dtype=object))})
        if wanted.empty:
            return pd.DataFrame(columns=COLUMNS, index=pd.Index([], name="text_hash"))
        self._ensure()
        self.store.con.register("_wanted", wanted)
        try:
            found = self.store.query(
                f"SELECT c.text_hash, {', '.join('c.' + c for c in COLUMNS)} FROM score_cache c "
                "JOIN _wanted w ON w.text_hash = c.text_hash WHERE c.model = ?", [model])
        finally:
            self.store.con.unregister("_wanted")
        return found.set_index("text_hash")

    def add(self, predictions: pd.DataFrame, model: str) -> int:
        """Store predictions indexed by text hash (call inside the transaction that stores the scores)."""
        if predictions.empty:
            return 0
        self._ensure()
        rows = predictions[COLUMNS].copy()
        rows.insert(0, "text_hash", predictions.index.to_numpy())
        rows.insert(1, "model", model)
        rows = rows.drop_duplicates("text_hash")
        return self.store.upsert("score_cache", rows, key=["text_hash", "model"])
