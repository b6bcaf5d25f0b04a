"""Everything a report shows, gathered from the store once: issues, topics, metrics, drivers, trends.

Example:
    >>> from voxlens.core.store import DETECTION_NOTE, Store
    >>> with Store(":memory:") as store:
    ...     ReportData.from_store(store)
    Traceback (most recent call last):
    voxlens.core.errors.InputError: the store has no feedback yet: import some first (voxlens import reviews FILE, voxlens import survey FILE), then voxlens analyze
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from voxlens.collectors.subscriptions import stored_subscriptions
from voxlens.metrics.business import business_by_period
from voxlens.metrics.compare import compare
from voxlens.metrics.drivers import key_drivers
from voxlens.metrics.joins import topic_metrics
from voxlens.metrics.periods import tickets_by_period
from voxlens.metrics.survey import ces, csat, nps
from voxlens.core.privacy import safe_url
from voxlens.report.filters import ReportFilter
from voxlens.core.store import DETECTION_NOTE, Store

METRIC_NAMES = ("nps", "csat", "ces")


def issue_records(store: Store, which: str = "all", since: str | None = None,
                  as_of: str | None = None, resolve_after: int = 7) -> list[dict[str, Any]]:
    """Logged issues in the public JSON shape, open ones first, each most severe first.

    ``which`` is ``"all"`` or ``"open"`` (new, ongoing, reopened); ``since`` keeps issues seen on or after
    that day; ``as_of`` shows the log as it stood that day: issues first flagged by then, seen until then at
    most, resolved when ``resolve_after`` quiet days had passed by then.
    """
    issues = store.query(
        "SELECT i.*, t.label, t.keywords FROM issues i LEFT JOIN topic_info t USING (topic_id) "
        "WHERE coalesce(i.status, '') <> 'candidate' ORDER BY severity DESC, issue_id")
    evidence_ids = sorted({e for ids in issues["evidence"] for e in (list(ids) if ids is not None else [])})
    quotes = _quotes(store, evidence_ids)
    records = []
    cut = pd.Timestamp(as_of).date() if as_of else None
    for row in issues.itertuples(index=False):
        record = _issue_record(row, quotes)
        if cut is not None:
            record = _as_it_stood(record, cut, resolve_after)
            if record is None:
                continue
        if which == "open" and record["status"] == "resolved":
            continue
        if since and record["last_seen"] < pd.Timestamp(since).date().isoformat():
            continue
        records.append(record)
    return sorted(records, key=lambda r: (r["status"] == "resolved", -r["severity"], r["issue_id"]))


def _issue_record(row: Any, quotes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ids = list(row.evidence) if row.evidence is not None else []
    onset = _day(getattr(row, "onset", None)) or _day(row.window_start)
    last_seen = _day(getattr(row, "last_seen", None)) or _day(row.window_end)
    ended = _day(getattr(row, "ended", None))
    facets = getattr(row, "facets", None)
    facets = json.loads(facets) if isinstance(facets, str) else (facets or {})
    return {
        "issue_id": row.issue_id,
        "kind": row.kind,
        "topic": {"id": None if pd.isna(row.topic_id) else int(row.topic_id),
                  "label": row.label, "keywords": list(row.keywords) if row.keywords is not None else []},
        "start": onset,
        "end": ended or last_seen,
        "severity": float(row.severity),
        "statistic": _number(row.statistic),
        "p_value": _number(row.p_value),
        "q_value": _number(row.q_value),
        "summary": row.summary,
        "topic_ids": _topic_ids(row.topic_ids, row.topic_id),
        "evidence": [quotes[i] for i in ids if i in quotes],
        "status": getattr(row, "status", None) or "ongoing",
        "onset": onset,
        "first_flagged": _day(getattr(row, "first_flagged", None)) or last_seen,
        "last_seen": last_seen,
        "ended": ended,
        "peak_severity": _number(getattr(row, "peak_severity", None)) or float(row.severity),
        "facets": facets,
    }


STATUS_COLOURS = {"new": "#c0392b", "reopened": "#d35400", "ongoing": "#e67e22", "resolved": "#7f8c8d"}
_UNITS = {"nps": "points", "csat": "points", "ces": "on its scale"}


def facet_lines(issue: dict[str, Any]) -> list[str]:
    """One plain line per facet of an issue (volume, negativity, new topic, each metric drop): effects with
    their windows, metric drops as the change with its 95% interval.

    >>> facet_lines({"facets": {"metric_drop:nps": {"kind": "metric_drop", "metric": "nps", "change": -9.0,
    ...     "ci_low": -14.0, "ci_high": -4.0, "before": 41.0, "after": 32.0, "n": 80}}})
    ['NPS down: change -9.0 points (95% CI -14.0 … -4.0), 41.0 → 32.0, n=80']
    """
    lines = []
    for name, facet in issue.get("facets", {}).items():
        kind = facet.get("kind", name)
        if kind == "metric_drop":
            metric = str(facet.get("metric", "metric"))
            lines.append(f"{metric.upper()} down: change {_signed(facet.get('change'))} {_UNITS.get(metric, '')} "
                         f"(95% CI {_signed(facet.get('ci_low'))} … {_signed(facet.get('ci_high'))}), "
                         f"{_plain(facet.get('before'))} → {_plain(facet.get('after'))}, n={facet.get('n', '—')}")
            continue
        what = {"volume_spike": "volume up", "new_topic": "new topic",
                "negativity_spike": "negativity up"}.get(kind, kind.replace("_", " "))
        ratio = facet.get("statistic")
        unit = "the expected negative items" if kind == "negativity_spike" else "the baseline rate"
        effect = f"{ratio:.1f}× {unit}" if isinstance(ratio, (int, float)) else ""
        window = f" over {facet['window_days']} day(s)" if facet.get("window_days") else ""
        seen = f"; flagged {facet.get('first_seen')} to {facet.get('last_seen')}" if facet.get("first_seen") else ""
        lines.append(f"{what}: {effect}{window}{seen}".replace(": ;", ":"))
    return lines


def _signed(value: Any) -> str:
    return "—" if not isinstance(value, (int, float)) else f"{value:+.1f}".replace("+", "+", 1)


def _plain(value: Any) -> str:
    return "—" if not isinstance(value, (int, float)) else f"{value:.1f}"


def _as_it_stood(record: dict[str, Any], cut: Any, resolve_after: int) -> dict[str, Any] | None:
    """The record as the log held it on day ``cut`` (None when not yet flagged then)."""
    day = cut.isoformat()
    if record["first_flagged"] > day:
        return None
    last_seen = min(record["last_seen"], day)
    quiet = (cut - pd.Timestamp(last_seen).date()).days
    resolved = record["ended"] is not None and record["last_seen"] <= day and quiet >= resolve_after
    status = "resolved" if resolved else ("new" if record["first_flagged"] == day else
                                          "reopened" if record["status"] == "reopened" else "ongoing")
    ended = record["ended"] if resolved else None
    return {**record, "last_seen": last_seen, "ended": ended, "end": ended or last_seen, "status": status}


def _day(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date().isoformat()


def _topic_ids(stored: Any, lead: Any) -> list[int]:
    """Every topic an issue covers (a group or a similar-items issue names several); the lead topic otherwise."""
    if hasattr(stored, "__len__") and len(stored):      # a list or array; None or NA when not stored
        return [int(t) for t in stored]
    return [] if pd.isna(lead) else [int(lead)]


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
    """NPS, CSAT and CES (as dicts with value, n, ci_low, ci_high, small_sample) for a frame of responses."""
    if responses.empty:
        return {}
    results = {
        "nps": nps(responses["nps"].dropna()),
        "csat": csat(responses["csat"].dropna(), scale=_scale(responses, "csat")),
        "ces": ces(responses["ces"].dropna(), scale=_scale(responses, "ces")),
    }
    return {name: _metric_dict(result) for name, result in results.items() if result.n > 0}


def _scale(responses: pd.DataFrame, metric: str) -> int:
    scales = responses[f"{metric}_scale"].dropna()
    return int(scales.mode().iloc[0]) if len(scales) else (5 if metric == "csat" else 7)


def _metric_dict(result: Any) -> dict[str, Any]:
    out = {"value": result.value, "n": result.n, "ci_low": result.ci_low, "ci_high": result.ci_high,
           "small_sample": result.small_sample}
    if hasattr(result, "easy_share"):
        out.update(easy_share=result.easy_share, easy_ci_low=result.easy_ci_low, easy_ci_high=result.easy_ci_high)
    return out


def metric_changes(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """Current − previous period for each metric, with a 95% interval and p-value (``voxlens.metrics.compare``)."""
    changes = {}
    for name in METRIC_NAMES:
        a, b = before[name].dropna() if name in before else [], after[name].dropna() if name in after else []
        if len(a) == 0 or len(b) == 0:
            continue
        scale = None if name == "nps" else _scale(pd.concat([before, after]), name)
        result = compare(a, b, metric=name, scale=scale)
        changes[name] = {k: _number(getattr(result, k)) for k in ("difference", "ci_low", "ci_high", "p_value")}
    return changes


def _daily(items: pd.DataFrame) -> pd.DataFrame:
    return (items.groupby("day")
            .agg(items=("item_id", "size"), mean_score=("score", "mean"),
                 negative_share=("label", lambda s: float((s == "negative").mean())))
            .reset_index())


@dataclass
class ReportData:
    """The content of a report, independent of its format.

    Trends, topics and drivers cover all data the filters keep. ``period`` is the metric period (the
    filter's dates, or the last 30 days with data) and ``previous_period`` the one of equal length before
    it, which the survey metrics are compared with. ``issue_series`` holds each issue's topic volume per day.
    """

    issues: list[dict[str, Any]]
    topics: pd.DataFrame
    daily: pd.DataFrame
    metrics_now: dict[str, Any]
    metrics_before: dict[str, Any]
    period: tuple[str | None, str | None]
    coverage: pd.DataFrame = field(default_factory=pd.DataFrame)
    previous_period: tuple[str | None, str | None] = (None, None)
    changes: dict[str, Any] = field(default_factory=dict)
    drivers: pd.DataFrame = field(default_factory=pd.DataFrame)
    issue_series: dict[str, pd.DataFrame] = field(default_factory=dict)
    filters: ReportFilter = field(default_factory=ReportFilter)
    support: pd.DataFrame = field(default_factory=pd.DataFrame)
    business: pd.DataFrame = field(default_factory=pd.DataFrame)
    detection_note: str | None = None

    @classmethod
    def from_store(cls, store: Store, filters: ReportFilter | None = None, period_days: int = 30) -> "ReportData":
        """Gather a report of the filtered data; the metric period is ``since``..``until`` or, without
        them, the last ``period_days`` days with data."""
        filters = filters or ReportFilter()
        items = store.query(
            "SELECT i.item_id, i.source, i.external_id, coalesce(i.created_at, i.collected_at) AS created_at, "
            "i.response_id, s.label, s.score, t.topic_id, r.segment FROM items i "
            "LEFT JOIN scores s USING (item_id) LEFT JOIN topics t USING (item_id) "
            "LEFT JOIN responses r USING (response_id)")
        all_responses = store.query("SELECT * FROM responses")
        filters.check(items, all_responses)
        items = filters.items(items)
        items["day"] = pd.to_datetime(items["created_at"]).dt.normalize()
        responses = filters.responses(all_responses)
        answered = pd.to_datetime(responses["submitted_at"])
        period, previous = filters.periods(items["day"], answered, period_days=period_days)
        if period[0]:
            now = responses[answered.between(*_bounds(period))]
            # the previous period lies before --since, so it is taken from all dates (same sources/segments)
            earlier = ReportFilter(sources=filters.sources, segments=filters.segments).responses(all_responses)
            before = earlier[pd.to_datetime(earlier["submitted_at"]).between(*_bounds(previous))]
        else:
            now, before = responses, responses.iloc[0:0]
        topics = store.query("SELECT topic_id, label, keywords, first_seen FROM topic_info ORDER BY topic_id")
        table = topic_metrics(items, responses) if not items.empty else pd.DataFrame(columns=["topic_id", "items"])
        stats = (items.groupby("topic_id").agg(mean_score=("score", "mean"),
                                               negative_share=("label", lambda s: float((s == "negative").mean())))
                 .reset_index())
        topics = (topics.merge(table, on="topic_id", how="inner").merge(stats, on="topic_id", how="left")
                  .sort_values("items", ascending=False).reset_index(drop=True))
        drivers = key_drivers(items, responses) if not items.empty else pd.DataFrame()
        if not drivers.empty:
            labels = dict(zip(topics["topic_id"], topics["label"]))
            drivers["label"] = [f"{labels.get(t, f'topic {t}')} ({s})"
                                for t, s in zip(drivers["topic_id"], drivers["sentiment"])]
        issues = filters.issues(issue_records(store), items)
        end = period[1] or (items["day"].max().date().isoformat() if not items.empty else None)
        return cls(
            issues=issues, topics=topics, daily=_daily(items), metrics_now=metric_summary(now),
            metrics_before=metric_summary(before), period=period,
            coverage=_coverage(store, items, responses), previous_period=previous,
            changes=metric_changes(before, now), drivers=drivers,
            issue_series={i["issue_id"]: _topic_series(items, i["topic"]["id"], end) for i in issues},
            filters=filters, support=monthly_support(store), business=monthly_business(store),
            detection_note=store.get_meta(DETECTION_NOTE) or None,
        )


def monthly_support(store: Store) -> pd.DataFrame:
    """Ticket metrics of all stored tickets by month (``voxlens.metrics.periods.tickets_by_period``); empty without tickets."""
    tickets = store.query("SELECT opened_at, first_response_at, resolved_at, reopened FROM tickets")
    return tickets_by_period(tickets, by="month") if len(tickets) else pd.DataFrame()


def monthly_business(store: Store) -> pd.DataFrame:
    """Retention, churn, NRR and CLV by month (``voxlens.metrics.business.business_by_period``); empty without
    imported subscriptions."""
    subscriptions = stored_subscriptions(store)
    if subscriptions is None or subscriptions.empty:
        return pd.DataFrame()
    table = business_by_period(subscriptions, by="month")
    return table.assign(period=pd.to_datetime(table["period"]).dt.date.astype(str))


def _bounds(period: tuple[str | None, str | None]) -> tuple[pd.Timestamp, pd.Timestamp]:
    return pd.Timestamp(period[0]), pd.Timestamp(period[1]) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)


def _topic_series(items: pd.DataFrame, topic_id: int | None, end: str | None) -> pd.DataFrame:
    """Items per day on one topic (and how many negative), zero-filled over the 60 days up to ``end``."""
    if not end or topic_id is None:
        return pd.DataFrame(columns=["day", "items", "negative"])
    end = pd.Timestamp(end)
    days = pd.date_range(end - pd.Timedelta(days=59), end, freq="D")
    on_topic = items[items["topic_id"] == topic_id]
    counts = on_topic.groupby("day").agg(items=("item_id", "size"),
                                         negative=("label", lambda s: int((s == "negative").sum())))
    return counts.reindex(days, fill_value=0).rename_axis("day").reset_index()


def _coverage(store: Store, items: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    """Per source: items (or survey responses), analysed share, first/last day, days with data, quarantined."""
    quarantined = dict(store.execute("SELECT source, count(*) FROM quarantine GROUP BY source"))  # once per source
    rows = []
    for source, group in items.groupby("source"):
        rows.append({"source": source, "kind": "items", "rows": len(group),
                     "analysed": float(group["label"].notna().mean()),
                     "first": group["day"].min().date().isoformat(), "last": group["day"].max().date().isoformat(),
                     "days_with_data": int(group["day"].nunique()), "quarantined": int(quarantined.pop(source, 0))})
    if not responses.empty:
        days = pd.to_datetime(responses["submitted_at"]).dt.normalize()
        for source, group in responses.assign(day=days).groupby("source"):
            rows.append({"source": source, "kind": "survey responses", "rows": len(group), "analysed": math.nan,
                         "first": _iso(group["day"].min()), "last": _iso(group["day"].max()),
                         "days_with_data": int(group["day"].nunique()),
                         "quarantined": int(quarantined.pop(source, 0))})
    return pd.DataFrame(rows, columns=["source", "kind", "rows", "analysed", "first", "last", "days_with_data",
                                       "quarantined"])


def _iso(day: Any) -> str | None:
    return None if pd.isna(day) else pd.Timestamp(day).date().isoformat()
