"""Analysed stores written directly (precomputed scores and topics, no model) for issue-log tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from voxlens.core.store import Store

MODEL = "test"
END = pd.Timestamp("2026-09-30")


def stream(days: int = 60, daily: int = 80, burst_topic: int | None = 3, burst_from: int = 15,
           burst_until: int | None = None, burst_share: float = 0.25, negative_from: int | None = None,
           negative_topic: int = 1, seed: int = 0) -> pd.DataFrame:
    """Items over ``days`` days ending on END: topics 0–2 share most of the volume and topic 3 has 5%, 30% negative; a burst of
    ``burst_topic`` begins ``burst_from`` days before the last day (and ends ``burst_until`` days before
    it); with ``negative_from``, every item of ``negative_topic`` is negative from then on."""
    rng = np.random.default_rng(seed)
    rows = []
    for offset in range(days):
        day = END - pd.Timedelta(days=days - 1 - offset)
        back = days - 1 - offset                                   # days before the last day
        bursting = burst_topic is not None and back < burst_from and (burst_until is None or back >= burst_until)
        for k in range(int(rng.poisson(daily))):
            topic = int(rng.choice(4, p=[0.32, 0.32, 0.31, 0.05]))
            if bursting and rng.random() < burst_share:
                topic = burst_topic
            negative = rng.random() < 0.3
            if negative_from is not None and back < negative_from and topic == negative_topic:
                negative = True
            rows.append({"item_id": f"i{offset:03d}-{k:03d}", "created_at": day + pd.Timedelta(hours=k % 20),
                         "topic_id": topic, "label": "negative" if negative else "positive",
                         "text": f"item {offset} {k} about topic {topic}"})
    return pd.DataFrame(rows)


def write_store(path: str | Path, items: pd.DataFrame, topic_count: int = 4) -> Path:
    """Items with scores of model ``test`` and topic assignments, and ``topic_count`` labelled topics."""
    with Store(path) as store:
        store.upsert("items", items.assign(source="reviews", external_id=items["item_id"],
                                           collected_at=items["created_at"], content_hash=items["item_id"])[
            ["item_id", "source", "external_id", "created_at", "collected_at", "text", "content_hash"]],
            key=["item_id"])
        score = np.where(items["label"] == "negative", -0.8, 0.7)
        store.upsert("scores", pd.DataFrame({
            "item_id": items["item_id"], "model": MODEL, "label": items["label"], "score": score,
            "p_negative": (1 - score) / 2, "p_neutral": 0.0, "p_positive": (1 + score) / 2,
            "scored_at": END}), key=["item_id", "model"])
        store.upsert("topics", items[["item_id", "topic_id"]].assign(probability=0.9), key=["item_id"])
        store.upsert("topic_info", pd.DataFrame({
            "topic_id": list(range(topic_count)), "label": [f"topic {t} · word{t}" for t in range(topic_count)],
            "keywords": [[f"word{t}", "thing"] for t in range(topic_count)],
            "first_seen": [items["created_at"].min().date()] * topic_count,
            "size": [int((items["topic_id"] == t).sum()) for t in range(topic_count)]}), key=["topic_id"])
    return Path(path)


def logged_store(path: str | Path) -> Path:
    """A store with its issue log: an ended burst of topic 3 (days 40–25 before the last) and a negativity
    shift of topic 1 (the last 8 days), detected by a replay without the similar-items scan."""
    from voxlens.issues import IssueTracker
    from voxlens.metrics.emerging import IssueDetector

    write_store(path, stream(burst_from=40, burst_until=25, negative_from=8, seed=11, days=70))
    with Store(path) as store:
        IssueTracker(store, IssueDetector(scan_replicates=0), model=MODEL).catch_up()
    return Path(path)
