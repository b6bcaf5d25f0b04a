"""Items of one word turned negative inside large topics are a negativity issue; quiet streams raise none."""

from __future__ import annotations

import numpy as np
import pandas as pd

from voxlens.metrics.emerging import IssueDetector

PHRASES = ["delivery late box", "refund money back", "login password app", "price plan cost", "seat legroom row"]


def stream(seed: int, shift_from: int | None = 43, days: int = 50, daily: int = 100) -> pd.DataFrame:
    """Two large topics; a tenth of the items speak of the crew, a quarter of them negative (all from
    ``shift_from`` on), the rest 30% negative."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, day in enumerate(pd.date_range("2026-01-01", periods=days)):
        for k in range(int(rng.poisson(daily))):
            crew = rng.random() < 0.1
            text = (f"the crew was {'rude' if rng.random() < 0.5 else 'kind'}" if crew
                    else PHRASES[int(rng.integers(0, len(PHRASES)))]) + f" n{k}"
            share = (1.0 if shift_from is not None and i >= shift_from else 0.25) if crew else 0.3
            rows.append({"created_at": day + pd.Timedelta(hours=k % 24), "topic_id": int(rng.integers(0, 2)),
                         "negative": bool(rng.random() < share), "text": text, "item_id": f"{i}-{k}"})
    return pd.DataFrame(rows)


def test_a_word_turned_negative_inside_large_topics_is_flagged_with_its_items():
    items = stream(seed=1)
    issues = IssueDetector(scan_replicates=0).detect(items)
    crew = issues[issues["summary"].str.contains("mentioning 'crew'")]
    assert len(crew) == 1 and crew.iloc[0]["kind"] == "negativity_spike"
    quoted = items.set_index("item_id").loc[crew.iloc[0]["evidence"]]
    assert quoted["text"].str.contains("crew").all() and quoted["negative"].all()
    without = IssueDetector(scan_replicates=0, word_negativity=False).detect(items)
    assert not without["summary"].str.contains("mentioning").any()


def test_quiet_streams_raise_no_word_negativity_issue():
    alarms = sum(not IssueDetector(scan_replicates=0).detect(stream(seed=seed, shift_from=None)).empty
                 for seed in range(12))
    assert alarms <= 1
