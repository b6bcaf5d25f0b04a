"""Everything a report shows, gathered from the store once: issues, topics, metrics, trends.

Example:
    >>> from voxlens.store import Store
    >>> with Store(":memory:") as store:
    ...     ReportData.from_store(store).issues
    []
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from metrics.survey import ces, csat, nps
from voxlens.privacy import safe_url
from voxlens.store import Store


def issue_records(store: Store) -> list[dict[str, Any]]:
    """Stored issues in the public JSON shape, most severe first."""
    issues = store.query(
        "SELECT i.*, t.label, t.keywords FROM issues i LEFT JOIN topic_info t USING (topic_id) "
        "ORDER BY severity DESC, issue_id")
    evidence_ids = sorted({e for ids in issues["evidence"] for e in (list(ids) if ids is not None else [])})
    quotes = _quotes(store, evidence_ids)
    records = []
    for row in issues.itertuples(index=False):
        ids = list(row.evidence) if row.evidence is not None else []
        records.append({
            "issue_id": row.issue_id,
            "kind": row.kind,
            "topic": {"id": None if pd.isna(row.topic_id) else int(row.topic_id),
                      "label": row.label, "keywords": list(row.keywords) if row.keywords is not None else []},
            "start": pd.Timestamp(row.window_start).date().isoformat(),
            "end": pd.Timestamp(row.window_end).date().isoformat(),
            "severity": float(row.severity),
            "statistic": _number(row.statistic),
            "p_value": _number(row.p_value),
            "q_value": _number(row.q_value),
            "summary": row.summary,
            "evidence": [quotes[i] for i in ids if i in quotes],
        })
    return records


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _quotes(store: Store, item_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not item_ids:
        return {}
    frame = pd.DataFrame({"item_id": item_ids})
    store.con.register("_wanted", frame)
    try:
        rows = store.query(
            "SELECT i.item_id, i.external_id, i.source, i.text, i.url, i.created_at FROM items i "
            "JOIN _wanted USING (item_id)")
    finally:
        store.con.unregister("_wanted")
    return {
        r.item_id: {"external_id": r.external_id, "source": r.source, "text": r.text,
                    "url": safe_url(r.url),
                    "created_at": None if pd.isna(r.created_at) else pd.Timestamp(r.created_at).isoformat()}
        for r in rows.itertuples(index=False)
    }


def metric_summary(responses: pd.DataFrame) -> dict[str, Any]:
    """NPS, CSAT and CES (as dicts) for a frame of responses."""
    if responses.empty:
        return {}
    csat_scale = int(responses["csat_scale"].dropna().iloc[0]) if responses["csat_scale"].notna().any() else 5
    ces_scale = int(responses["ces_scale"].dropna().iloc[0]) if responses["ces_scale"].notna().any() else 7
    results = {
        "nps": nps(responses["nps"].dropna()),
        "csat": csat(responses["csat"].dropna(), scale=csat_scale),
        "ces": ces(responses["ces"].dropna(), scale=ces_scale),
    }
    return {name: _metric_dict(result) for name, result in results.items() if result.n > 0}


def _metric_dict(result: Any) -> dict[str, Any]:
    out = {"value": result.value, "n": result.n, "ci_low": result.ci_low, "ci_high": result.ci_high,
           "small_sample": result.small_sample}
    if hasattr(result, "easy_share"):
        out.update(easy_share=result.easy_share, easy_ci_low=result.easy_ci_low, easy_ci_high=result.easy_ci_high)
    return out


@dataclass
class ReportData:
    """The content of a report, independent of its format."""

    issues: list[dict[str, Any]]
    topics: pd.DataFrame
    daily: pd.DataFrame
    metrics_now: dict[str, Any]
    metrics_before: dict[str, Any]
    period: tuple[str | None, str | None]
    coverage: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def from_store(cls, store: Store, period_days: int = 30) -> "ReportData":
        items = store.query(
            "SELECT i.item_id, i.source, coalesce(i.created_at, i.collected_at) AS created_at, "
            "i.response_id, s.label, s.score, t.topic_id FROM items i "
            "LEFT JOIN scores s USING (item_id) LEFT JOIN topics t USING (item_id)")
        topics = store.query("SELECT topic_id, label, keywords, first_seen, size FROM topic_info ORDER BY topic_id")
        responses = store.query("SELECT * FROM responses")
        if not items.empty:
            items["day"] = pd.to_datetime(items["created_at"]).dt.normalize()
            daily = (items.groupby("day")
                     .agg(items=("item_id", "size"), mean_score=("score", "mean"),
                          negative_share=("label", lambda s: float((s == "negative").mean())))
                     .reset_index())
            stats = (items.groupby("topic_id")
                     .agg(items=("item_id", "size"), mean_score=("score", "mean"),
                          negative_share=("label", lambda s: float((s == "negative").mean())))
                     .reset_index())
            topics = topics.merge(stats, on="topic_id", how="left")
            period = (items["day"].min().date().isoformat(), items["day"].max().date().isoformat())
            coverage = items.groupby("source").agg(
                items=("item_id", "size"), first=("day", "min"), last=("day", "max")).reset_index()
        else:
            daily = pd.DataFrame(columns=["day", "items", "mean_score", "negative_share"])
            period, coverage = (None, None), pd.DataFrame()
        metrics_now, metrics_before = {}, {}
        if not responses.empty and responses["submitted_at"].notna().any():
            submitted = pd.to_datetime(responses["submitted_at"])
            end = submitted.max().normalize() + pd.Timedelta(days=1)
            now = responses[submitted >= end - pd.Timedelta(days=period_days)]
            before = responses[(submitted < end - pd.Timedelta(days=period_days))
                               & (submitted >= end - pd.Timedelta(days=2 * period_days))]
            metrics_now, metrics_before = metric_summary(now), metric_summary(before)
        return cls(issue_records(store), topics, daily, metrics_now, metrics_before, period, coverage)
