"""The first emerging-issue detector on small synthetic streams."""

import numpy as np
import pandas as pd

from voxlens.metrics.emerging import IssueDetector


def stream(days=60, daily=40, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for day in pd.date_range("2026-01-01", periods=days, freq="D"):
        for _ in range(rng.poisson(daily)):
            topic = int(rng.integers(0, 4))
            rows.append({"created_at": day + pd.Timedelta(hours=int(rng.integers(0, 24))), "topic_id": topic,
                         "negative": bool(rng.random() < 0.3), "item_id": f"i{len(rows)}",
                         "probability": float(rng.random())})
    return pd.DataFrame(rows)


def test_a_quiet_stream_raises_nothing():
    assert IssueDetector().detect(stream()).empty


def test_a_burst_of_a_new_negative_topic_is_flagged_from_its_first_day():
    items = stream()
    burst = [{"created_at": day, "topic_id": 9, "negative": True, "item_id": f"b{i}_{j}", "probability": 0.9}
             for i, day in enumerate(pd.date_range("2026-02-25", "2026-03-01")) for j in range(4 + 2 * i)]
    issues = IssueDetector().detect(pd.concat([items, pd.DataFrame(burst)], ignore_index=True))

    assert issues["topic_id"].tolist() == [9]
    top = issues.iloc[0]
    assert top["kind"] == "new_topic"
    assert str(top["window_start"]) == "2026-02-25" and str(top["window_end"]) == "2026-03-01"
    assert top["q_value"] < 0.01 and top["severity"] > 0
    assert len(top["evidence"]) == 5 and all(e.startswith("b") for e in top["evidence"])


def test_a_negativity_jump_in_an_existing_topic_is_flagged():
    items = stream(seed=1)
    late = items["created_at"] >= pd.Timestamp("2026-02-24")
    items.loc[late & (items["topic_id"] == 2), "negative"] = True
    issues = IssueDetector().detect(items)

    assert issues["topic_id"].tolist() == [2]
    assert issues.iloc[0]["kind"] == "negativity_spike"


def test_evidence_prefers_distinct_quotes_over_repeats():
    items = stream()
    texts = ["Payment fails at checkout.", "payment fails at checkout!", "Card declined after the update",
             "Charged twice, payment failed", "BLIK does not work", "Checkout error again"]
    burst = [{"created_at": day, "topic_id": 9, "negative": True, "item_id": f"b{i}_{j}",
              "probability": 0.99 if j < 2 else 0.5, "text": texts[j % len(texts)]}
             for i, day in enumerate(pd.date_range("2026-02-25", "2026-03-01")) for j in range(8)]
    issues = IssueDetector().detect(pd.concat([items.assign(text="other"), pd.DataFrame(burst)], ignore_index=True))

    evidence = issues.iloc[0]["evidence"]
    quoted = [texts[int(item.split("_")[1]) % len(texts)] for item in evidence]
    assert len({q.lower().strip(".!") for q in quoted}) == len(quoted) == 5
