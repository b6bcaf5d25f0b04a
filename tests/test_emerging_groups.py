"""Groups of neighbouring topics: a theme split over two topics is one issue naming both."""

import numpy as np
import pandas as pd
import pytest

from voxlens.metrics.emerging import IssueDetector
from voxlens.metrics.emerging_groups import topic_groups
from voxlens.core.errors import InputError

DAYS = pd.date_range("2026-05-04", periods=42, freq="D")
DAILY = [40, 35, 30, 10, 10, 25, 20, 30, 15, 25, 30, 20]   # items a day per topic


def _topics():
    """12 topics on an arc; "battery" and "charger" (3 and 4) sit right next to each other."""
    angles = np.linspace(0, np.pi / 2, 12)
    angles[4] = angles[3] + 0.05
    labels = [f"topic {t}" for t in range(12)]
    labels[3], labels[4] = "battery · drains", "charger · cable"
    return pd.DataFrame({"topic_id": range(12), "label": labels,
                         "centroid": [[np.cos(a), np.sin(a), 0.3] for a in angles]})


def _stream(extra_per_topic=0, days_planted=3):
    """A steady stream; the last ``days_planted`` days add ``extra_per_topic`` items to topics 3 and 4."""
    rows = []
    for i, day in enumerate(DAYS):
        planted = i >= len(DAYS) - days_planted
        for topic, count in enumerate(DAILY):
            count += extra_per_topic if planted and topic in (3, 4) else 0
            rows += [(day + pd.Timedelta(hours=1 + k % 20), topic, k % 4 == 0) for k in range(count)]
    items = pd.DataFrame(rows, columns=["created_at", "topic_id", "negative"])
    items["item_id"] = [f"i{k}" for k in range(len(items))]
    return items


def test_a_burst_split_over_two_neighbouring_topics_is_one_group_issue_naming_both():
    items = _stream(extra_per_topic=7)
    assert IssueDetector().detect(items).empty   # 7 extra a day on 10 is too little for either topic alone
    issues = IssueDetector().detect(items, topics=_topics())
    assert len(issues) == 1
    issue = issues.iloc[0]
    assert issue["kind"] == "volume_spike" and issue["topic_ids"] == [3, 4] and issue["topic_id"] in (3, 4)
    assert "battery · drains" in issue["summary"] and "charger · cable" in issue["summary"]
    quoted = items.set_index("item_id").loc[issue["evidence"]]
    assert set(quoted["topic_id"]) <= {3, 4} and (quoted["created_at"] >= DAYS[-3]).all()


def test_a_topic_flagged_on_its_own_is_not_repeated_as_a_group():
    items = _stream()
    burst = pd.DataFrame({"created_at": np.repeat(DAYS[-2:], 25) + pd.Timedelta(hours=9), "topic_id": 3,
                          "negative": True})
    burst["item_id"] = [f"b{k}" for k in range(len(burst))]
    issues = IssueDetector().detect(pd.concat([items, burst], ignore_index=True), topics=_topics())
    assert issues["topic_ids"].tolist() == [[3]]


def test_quiet_streams_raise_no_group_issue():
    rng = np.random.default_rng(3)
    alarms = 0
    for seed in range(4):
        rows = []
        for day in DAYS:
            counts = rng.poisson(np.array(DAILY) * (0.6 if day.day_of_week >= 5 else 1.0))
            topic = np.repeat(np.arange(12), counts)
            rows.append(pd.DataFrame({"created_at": day, "topic_id": topic, "negative": rng.random(len(topic)) < 0.25}))
        items = pd.concat(rows, ignore_index=True)
        for as_of in DAYS[-7:]:
            alarms += len(IssueDetector().detect(items, as_of=as_of, topics=_topics())) > 0
    assert alarms <= 1   # 28 daily runs, FDR 0.5%


def test_groups_join_only_close_topics_and_a_missing_centroid_says_what_to_pass():
    far = pd.DataFrame({"topic_id": [0, 1, 2], "centroid": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]})
    assert topic_groups(far) == []
    assert (3, 4) in topic_groups(_topics())
    assert all(len(group) <= 2 for group in topic_groups(_topics(), max_topics=2))
    with pytest.raises(InputError, match="centroid"):
        topic_groups(pd.DataFrame({"topic_id": [0, 1]}))


def test_the_pipeline_passes_stored_topics_so_a_stored_group_issue_names_both_topics():
    from voxlens.pipeline import Pipeline
    from voxlens.core.store import Store

    items = _stream(extra_per_topic=7)
    with Store(":memory:") as store:
        pipeline = Pipeline(store)
        store.upsert("items", pd.DataFrame({
            "item_id": items["item_id"], "source": "reviews", "external_id": items["item_id"],
            "created_at": items["created_at"], "collected_at": items["created_at"], "text": "a review",
            "content_hash": items["item_id"]}), key=["item_id"])
        store.upsert("scores", pd.DataFrame({
            "item_id": items["item_id"], "model": pipeline.sentiment.name,
            "label": np.where(items["negative"], "negative", "positive"), "score": 0.0, "p_negative": 0.0,
            "p_neutral": 0.0, "p_positive": 0.0, "scored_at": items["created_at"]}), key=["item_id", "model"])
        store.upsert("topics", items[["item_id", "topic_id"]].assign(probability=0.9), key=["item_id"])
        store.upsert("topic_info", _topics().assign(keywords=[["word"]] * 12, size=100), key=["topic_id"])
        pipeline.detect()
        stored = store.query("SELECT topic_id, summary FROM issues")
    assert len(stored) == 1 and stored["topic_id"].iloc[0] in (3, 4)
    assert "battery · drains" in stored["summary"].iloc[0] and "charger · cable" in stored["summary"].iloc[0]
