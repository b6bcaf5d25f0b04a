"""Emerging issues on synthetic streams: a planted burst is found fast, a quiet stream stays quiet."""

import numpy as np
import pandas as pd

from voxlens.metrics.emerging import IssueDetector

DAYS = pd.date_range("2026-05-04", periods=49, freq="D")   # starts on a Monday


def _stream(seed, topics=12, daily=300, weekend=0.5, monday_topic=None):
    """Items per day over 12 topics; weekends quieter; optionally one topic busier on Mondays."""
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.full(topics, 3.0))
    rows = []
    for day in DAYS:
        volume = rng.poisson(daily * (weekend if day.day_of_week >= 5 else 1.0))
        p = shares.copy()
        if monday_topic is not None and day.day_of_week == 0:
            p[monday_topic] *= 4
        p /= p.sum()
        topic = rng.choice(topics, size=volume, p=p)
        negative = rng.random(volume) < 0.25
        rows.append(pd.DataFrame({"created_at": day + pd.to_timedelta(rng.integers(0, 86400, volume), unit="s"),
                                  "topic_id": topic, "negative": negative}))
    items = pd.concat(rows, ignore_index=True)
    items["item_id"] = [f"i{k}" for k in range(len(items))]
    return items


def _plant(items, topic, start, per_day, negative=True):
    days = [d for d in DAYS if d >= start]
    extra = pd.DataFrame({"created_at": np.repeat(days, per_day), "topic_id": topic, "negative": negative})
    extra["item_id"] = [f"p{k}" for k in range(len(extra))]
    return pd.concat([items, extra], ignore_index=True)


def test_a_burst_of_five_percent_of_daily_volume_is_flagged_within_two_days():
    start = DAYS[42]
    items = _plant(_stream(1), topic=3, start=start, per_day=15)   # 5% of 300 a day
    found = None
    for offset in range(4):
        issues = IssueDetector().detect(items, as_of=start + pd.Timedelta(days=offset))
        if 3 in set(issues["topic_id"]):
            found = offset
            break
    assert found is not None and found <= 2
    issue = issues[issues["topic_id"] == 3].iloc[0]
    assert issue["kind"] in {"volume_spike", "negativity_spike"}
    assert pd.Timestamp(issue["window_start"]) >= start
    quotes = items.set_index("item_id").loc[issue["evidence"]]
    assert len(quotes) == 5 and quotes["negative"].all() and (quotes["created_at"] >= start).all()


def test_quiet_streams_with_weekday_seasonality_raise_no_issue():
    alarms = 0
    for seed in range(6):
        items = _stream(100 + seed, monday_topic=2)
        for as_of in DAYS[-7:]:
            alarms += len(IssueDetector().detect(items, as_of=as_of)) > 0
    assert alarms <= 1   # 42 daily runs over quiet streams, each with an FDR of 0.5%


def test_the_default_budgets_of_a_week_of_daily_runs_add_up_to_at_most_five_percent():
    """Union bound: a quiet run alarms with probability at most ``alpha`` from the topic and group tests
    (Benjamini–Hochberg with every null true) plus ``scan_alpha`` from the scan; seven daily runs add up."""
    detector = IssueDetector()
    assert 7 * (detector.alpha + detector.scan_alpha) <= 0.05


def test_a_sentiment_shift_within_a_topic_is_a_negativity_spike():
    items = _stream(5)
    shifted = (items["topic_id"] == 0) & (items["created_at"] >= DAYS[-5])
    items.loc[shifted, "negative"] = True
    issues = IssueDetector().detect(items, as_of=DAYS[-1])
    assert issues.iloc[0]["topic_id"] == 0 and issues.iloc[0]["kind"] == "negativity_spike"


def test_an_nps_drop_is_flagged_and_explained_by_the_topic_behind_it():
    items = _stream(9)
    rng = np.random.default_rng(9)
    responses = pd.DataFrame({"response_id": [f"r{k}" for k in range(len(DAYS) * 20)],
                              "submitted_at": np.repeat(DAYS, 20),
                              "nps": rng.choice([10, 9, 8, 7, 3], size=len(DAYS) * 20)})
    recent = responses["submitted_at"] >= DAYS[-7]
    late = recent & (rng.random(len(responses)) < 0.5)
    responses.loc[late, "nps"] = 1                               # half of the recent answers: detractors ...
    comments = pd.DataFrame({"created_at": responses.loc[late, "submitted_at"], "topic_id": 7, "negative": True,
                             "response_id": responses.loc[late, "response_id"]})   # ... who all wrote about topic 7
    comments["item_id"] = [f"c{k}" for k in range(len(comments))]
    items = pd.concat([items.assign(response_id=None), comments], ignore_index=True)
    issues = IssueDetector().detect(items, as_of=DAYS[-1], responses=responses)
    drop = issues[issues["kind"] == "metric_drop"].iloc[0]
    assert drop["topic_id"] == 7 and drop["statistic"] < -20 and drop["p_value"] < 0.01
    assert all(e.startswith("c") for e in drop["evidence"])
    assert "NPS down" in drop["summary"]
