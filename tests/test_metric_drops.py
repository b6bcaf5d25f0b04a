"""CSAT and CES drops are issues like NPS drops, named after the topic behind them."""

import numpy as np
import pandas as pd

from voxlens.metrics.emerging import IssueDetector

DAYS = pd.date_range("2026-05-04", periods=42, freq="D")


def _survey(seed, per_day=20):
    """Answers every day: NPS 0–10, CSAT on 1–5, CES on 1–7 (higher is easier), each with a comment."""
    rng = np.random.default_rng(seed)
    n = len(DAYS) * per_day
    responses = pd.DataFrame({
        "response_id": [f"r{k}" for k in range(n)], "submitted_at": np.repeat(DAYS, per_day),
        "nps": rng.choice([10, 9, 8, 7, 3], size=n), "csat": rng.choice([5, 4, 4, 3, 2], size=n), "csat_scale": 5,
        "ces": rng.choice([7, 6, 6, 5, 3], size=n), "ces_scale": 7})
    comments = pd.DataFrame({"created_at": responses["submitted_at"], "topic_id": rng.integers(0, 6, size=n),
                             "negative": rng.random(n) < 0.2, "response_id": responses["response_id"],
                             "item_id": [f"i{k}" for k in range(n)]})
    return responses, comments


def _sour(responses, comments, metric, value, topic, seed=0):
    """Half of the last week's answers get ``value`` on ``metric``, and their comments move to ``topic``."""
    rng = np.random.default_rng(seed)
    late = (responses["submitted_at"] >= DAYS[-7]) & (rng.random(len(responses)) < 0.5)
    responses.loc[late, metric] = value
    comments.loc[late.to_numpy(), ["topic_id", "negative"]] = [topic, True]
    return responses, comments


def test_a_csat_drop_is_flagged_and_explained_by_its_topic():
    responses, comments = _sour(*_survey(1), metric="csat", value=1, topic=4)
    issues = IssueDetector().detect(comments, as_of=DAYS[-1], responses=responses)
    drops = issues[issues["kind"] == "metric_drop"]
    assert drops["summary"].str.startswith("CSAT down").sum() == 1
    csat = drops[drops["summary"].str.startswith("CSAT")].iloc[0]
    assert csat["topic_id"] == 4 and csat["statistic"] < -20 and csat["q_value"] < 0.01
    assert "most explained by topic 4" in csat["summary"]
    assert not drops["summary"].str.startswith(("NPS", "CES")).any()


def test_a_ces_drop_is_flagged_on_its_own_scale():
    responses, comments = _sour(*_survey(2), metric="ces", value=2, topic=1)
    issues = IssueDetector().detect(comments, as_of=DAYS[-1], responses=responses)
    ces = issues[issues["summary"].str.startswith("CES down")]
    assert len(ces) == 1 and ces.iloc[0]["topic_id"] == 1
    assert "on a 1–7 scale" in ces.iloc[0]["summary"] and -3 < ces.iloc[0]["statistic"] < -1


def test_steady_survey_answers_raise_no_metric_drop():
    for seed in range(5):
        responses, comments = _survey(10 + seed)
        issues = IssueDetector().detect(comments, as_of=DAYS[-1], responses=responses)
        assert not (issues["kind"] == "metric_drop").any()
