"""A small analysed store written directly (no model needed), with hostile user text for report tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from voxlens.core.store import Store

HOSTILE_TEXT = "<script>alert(1)</script> and <img src=x onerror=alert(1)> broke checkout"
HOSTILE_LABEL = "<b>checkout</b> · <script>alert('label')</script>"
HOSTILE_URL = "javascript:alert(1)"
SAFE_URL = "https://example.org/review/r-hostile-2"


def build_small_store(path: str | Path, days: int = 60) -> Path:
    """60 days of appstore reviews and survey answers; topic 1 turns up and goes bad in the last week."""
    rng = np.random.default_rng(7)
    end = pd.Timestamp("2026-09-30")
    items, responses = [], []
    for day in range(days):
        date = end - pd.Timedelta(days=days - 1 - day)
        for k in range(6):
            recent_problem = day >= days - 7 and k < 4
            source = "survey" if k in (3, 5) else ("reddit" if k == 4 else "appstore")
            topic = 1 if recent_problem else (-1 if source == "survey" and day % 3 == 0 else 0)
            negative = recent_problem or rng.random() < 0.3
            item_id = f"i{day:03d}{k}"
            response_id = f"s{day:03d}{k}" if source == "survey" else None
            items.append({"item_id": item_id, "source": source, "external_id": f"x{day:03d}{k}",
                          "created_at": date + pd.Timedelta(hours=k + 8), "text": f"feedback {day} {k}",
                          "url": None, "response_id": response_id, "topic_id": topic,
                          "label": "negative" if negative else "positive"})
            if response_id:
                responses.append({"response_id": response_id, "source": "survey", "external_id": response_id,
                                  "submitted_at": date + pd.Timedelta(hours=13),
                                  "nps": 2 if negative else int(rng.integers(7, 11)),
                                  "csat": 2 if negative else int(rng.integers(3, 6)), "csat_scale": 5,
                                  "ces": 3 if negative else int(rng.integers(4, 8)), "ces_scale": 7,
                                  "segment": "business" if day % 2 else "free",
                                  "content_hash": f"h{response_id}"})
    frame = pd.DataFrame(items)
    evidence = frame[frame["topic_id"] == 1].tail(3).copy()
    frame.loc[evidence.index[0], ["text", "url"]] = [HOSTILE_TEXT, HOSTILE_URL]
    frame.loc[evidence.index[1], ["text", "url"]] = ['Checkout fails "again" & again', SAFE_URL]
    frame.loc[evidence.index[2], "text"] = "[click me](javascript:alert(1)) | pipes | <u>markup</u>"
    with Store(path) as store:
        store.upsert("items", frame.assign(collected_at=frame["created_at"], content_hash=frame["item_id"])[
            ["item_id", "source", "external_id", "created_at", "collected_at", "text", "url", "response_id",
             "content_hash"]], key=["item_id"])
        store.upsert("responses", pd.DataFrame(responses), key=["response_id"])
        score = np.where(frame["label"] == "negative", -0.8, 0.7)
        store.upsert("scores", pd.DataFrame({
            "item_id": frame["item_id"], "model": "test", "label": frame["label"], "score": score,
            "p_negative": (1 - score) / 2, "p_neutral": 0.0, "p_positive": (1 + score) / 2,
            "scored_at": end}), key=["item_id", "model"])
        store.upsert("topics", frame[["item_id", "topic_id"]].assign(probability=0.9), key=["item_id"])
        store.upsert("topic_info", pd.DataFrame({
            "topic_id": [0, 1], "label": ["delivery · courier", HOSTILE_LABEL],
            "keywords": [["delivery", "courier"], ["checkout", "<script>"]],
            "first_seen": [pd.Timestamp("2026-08-01").date(), pd.Timestamp("2026-09-24").date()],
            "size": [int((frame["topic_id"] == 0).sum()), int((frame["topic_id"] == 1).sum())]}), key=["topic_id"])
        store.upsert("issues", pd.DataFrame({
            "issue_id": ["issue-1"], "kind": ["new_topic"], "topic_id": [1],
            "window_start": [pd.Timestamp("2026-09-24").date()], "window_end": [end.date()], "severity": [28.0],
            "statistic": [9.0], "p_value": [1e-9], "q_value": [1e-8],
            "summary": ["new topic: 28 items in the last 7 days <script>alert('summary')</script>"],
            "evidence": [evidence["item_id"].tolist()], "detected_at": [end]}), key=["issue_id"])
    return Path(path)
