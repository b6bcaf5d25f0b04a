"""Survey-metric drops: NPS, CSAT or CES lower in the recent window than in the baseline.

Each metric present in the responses is compared with :func:`voxlens.metrics.compare.compare` (recent against
baseline, one-sided); Benjamini–Hochberg corrects across the metrics tested. A drop is reported when its
q-value is below ``alpha`` and it is at least ``min_points``: NPS points, CSAT percentage points, or CES
as a percentage of its scale's range. The topic whose responses pull the recent value down most (the
lowest ``overall − without the topic``) explains it.

Example:
    >>> import pandas as pd
    >>> days = pd.date_range("2026-01-01", periods=35, freq="D")
    >>> responses = pd.DataFrame({"response_id": range(350), "submitted_at": days.repeat(10),
    ...                           "csat": [5, 4, 4, 5, 2] * 70})
    >>> responses.loc[responses["submitted_at"] >= days[-7], "csat"] = [5, 2, 1, 2, 2] * 14
    >>> drops = metric_drops(responses, responses.iloc[:0].assign(topic_id=0, negative=False),
    ...                      days[-7], days[0], days[-1], alpha=0.01, min_points=5)
    >>> [(d["metric"], round(d["change"].difference)) for d in drops]
    [('csat', -60)]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from voxlens.metrics.compare import Comparison, compare
from voxlens.metrics.emerging_stats import benjamini_hochberg, calendar_days
from voxlens.metrics.joins import ces_on_scale, csat_top_box, topic_metrics

NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}


def metric_drops(responses: pd.DataFrame, items: pd.DataFrame, recent_start: pd.Timestamp,
                 baseline_start: pd.Timestamp, end: pd.Timestamp, alpha: float, min_points: float,
                 min_count: int = 8) -> list[dict]:
    """Significant drops, each as ``{"metric", "change", "points", "q_value", "topic_id", "evidence_items"}``.

    ``responses`` needs ``response_id`` and ``submitted_at`` plus any of ``nps``, ``csat`` (with optional
    ``csat_scale``) and ``ces`` (with optional ``ces_scale``; higher is easier). ``items`` links answers to
    topics through ``response_id``.
    """
    answers = responses.dropna(subset=["submitted_at"])
    day = calendar_days(answers["submitted_at"])
    recent = answers[(day >= recent_start) & (day <= end)]
    baseline = answers[(day >= baseline_start) & (day < recent_start)]
    tested = []
    for metric in NAMES:
        if metric not in answers:
            continue
        change, scale = _change(metric, baseline, recent)
        if change is None or change.before.n < min_count or change.after.n < min_count:
            continue
        points = change.difference if metric != "ces" else 100 * change.difference / (scale - 1)
        p_one_sided = change.p_value / 2 if change.difference < 0 else 1.0
        tested.append({"metric": metric, "change": change, "points": float(points), "p_value": p_one_sided})
    if not tested:
        return []
    q_values = benjamini_hochberg(np.array([t["p_value"] for t in tested]))
    drops = []
    for test, q_value in zip(tested, q_values):
        if q_value >= alpha or -test["points"] < min_points:
            continue
        topic, evidence = _explaining_topic(test["metric"], items, recent)
        drops.append({**test, "q_value": float(q_value), "topic_id": topic, "evidence_items": evidence})
    return drops


def describe(drop: dict) -> str:
    """A one-line summary, e.g. ``CSAT down 8.0 points (80.0 → 72.0, n=140); most explained by topic 3``."""
    change, name = drop["change"], NAMES[drop["metric"]]
    unit = "points" if drop["metric"] != "ces" else f"on a 1–{change.before.scale} scale"
    amount = -change.difference
    explained = f"; most explained by topic {drop['topic_id']}" if drop["topic_id"] is not None else ""
    return (f"{name} down {amount:.1f} {unit} ({change.before.value:.1f} → {change.after.value:.1f}, "
            f"n={change.after.n}){explained}")


def _change(metric: str, baseline: pd.DataFrame, recent: pd.DataFrame) -> tuple[Comparison | None, int]:
    if metric == "nps":
        before, after = baseline["nps"].dropna(), recent["nps"].dropna()
        return (compare(before, after, metric="nps") if len(before) and len(after) else None), 10
    frame = pd.concat([baseline.assign(_recent=False), recent.assign(_recent=True)])
    frame = frame[frame[metric].notna()]
    if frame.empty or frame["_recent"].all() or not frame["_recent"].any():
        return None, 0
    if metric == "csat":
        top = csat_top_box(frame).to_numpy()   # top-two-box on each answer's own scale, as a 5-point answer
        values, scale = np.where(top == 1.0, 5, 1), 5
    else:
        scale = int(frame["ces_scale"].dropna().mode().iloc[0]) if "ces_scale" in frame and \
            frame["ces_scale"].notna().any() else 7
        values = ces_on_scale(frame, scale).round().clip(1, scale).to_numpy()
    recent_mask = frame["_recent"].to_numpy()
    return compare(values[~recent_mask], values[recent_mask], metric=metric, scale=scale), scale


def _explaining_topic(metric: str, items: pd.DataFrame, recent: pd.DataFrame) -> tuple[int | None, pd.DataFrame]:
    """The topic whose recent responses pull the metric down most, and its items."""
    linked = items[items["response_id"].isin(recent["response_id"])] if "response_id" in items else items.iloc[:0]
    if linked.empty:
        return None, linked
    joined = topic_metrics(linked.assign(label=np.where(linked["negative"], "negative", "other"), score=0.0),
                           recent)
    if metric == "nps":
        joined["impact"] = joined["nps_impact"]
    else:
        column = {"csat": "_top", "ces": "_ces"}[metric]
        answers = recent.drop_duplicates("response_id")
        values = csat_top_box(answers) * 100 if column == "_top" else ces_on_scale(answers)
        joined["impact"] = float(values.mean()) - joined[f"{metric}_without"]
    joined = joined[joined["n_responses"] >= 3].sort_values("impact")
    if joined.empty or not joined.iloc[0]["impact"] < 0:
        return None, linked.iloc[:0]
    topic = int(joined.iloc[0]["topic_id"])
    return topic, linked[linked["topic_id"] == topic]
