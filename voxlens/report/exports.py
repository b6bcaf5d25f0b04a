"""Flat exports with stable column names: issues, topics, metrics and drivers (CSV) and one JSON document.

The column lists below are the public contract documented in the README; new columns are only appended.

Example:
    >>> issues_frame([]).columns.tolist()[:3]
    ['issue_id', 'kind', 'topic_id']
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from voxlens.core.privacy import spreadsheet_safe
from voxlens.report.data import ReportData

ISSUE_COLUMNS = ["issue_id", "kind", "topic_id", "topic_label", "topic_keywords", "start", "end", "severity",
                 "statistic", "p_value", "q_value", "summary", "evidence_external_ids", "status", "first_flagged",
                 "last_seen", "ended", "peak_severity", "facets"]
TOPIC_COLUMNS = ["topic_id", "label", "keywords", "first_seen", "items", "share", "net_sentiment", "mean_score",
                 "negative_share", "nps_with", "nps_without", "nps_impact", "csat_with", "csat_without",
                 "ces_with", "ces_without", "n_responses"]
METRIC_COLUMNS = ["metric", "period", "start", "end", "value", "ci_low", "ci_high", "n", "p_value", "small_sample"]
DRIVER_COLUMNS = ["driver", "label", "topic_id", "sentiment", "coefficient", "ci_low", "ci_high", "p_value", "n",
                  "share", "importance"]


def issues_frame(issues: list[dict[str, Any]]) -> pd.DataFrame:
    """Issues flattened to one row each; keywords and evidence ids joined by ``;``."""
    return pd.DataFrame([{
        "issue_id": i["issue_id"], "kind": i["kind"], "topic_id": i["topic"]["id"],
        "topic_label": i["topic"]["label"], "topic_keywords": ";".join(i["topic"]["keywords"]),
        "start": i["start"], "end": i["end"], "severity": i["severity"], "statistic": i["statistic"],
        "p_value": i["p_value"], "q_value": i["q_value"], "summary": i["summary"],
        "evidence_external_ids": ";".join(str(e["external_id"]) for e in i["evidence"]),
        "status": i.get("status"), "first_flagged": i.get("first_flagged"), "last_seen": i.get("last_seen"),
        "ended": i.get("ended"), "peak_severity": i.get("peak_severity"), "facets": ";".join(i.get("facets", {})),
    } for i in issues], columns=ISSUE_COLUMNS)


def topics_frame(data: ReportData) -> pd.DataFrame:
    """One row per topic: volume, sentiment and survey metrics with / without it (``nps_impact``)."""
    topics = data.topics.reindex(columns=TOPIC_COLUMNS).copy()
    topics["keywords"] = [";".join(k) if isinstance(k, (list, tuple)) or hasattr(k, "tolist") else k
                          for k in topics["keywords"]]
    topics["first_seen"] = [None if pd.isna(d) else pd.Timestamp(d).date().isoformat() for d in topics["first_seen"]]
    return topics


def metrics_frame(data: ReportData) -> pd.DataFrame:
    """NPS, CSAT and CES for the period (``current``), the one before (``previous``) and the ``change``."""
    rows = []
    periods = {"current": (data.metrics_now, data.period), "previous": (data.metrics_before, data.previous_period)}
    for name in ("nps", "csat", "ces"):
        for label, (values, (start, end)) in periods.items():
            if name in values:
                m = values[name]
                rows.append({"metric": name, "period": label, "start": start, "end": end, "value": m["value"],
                             "ci_low": m["ci_low"], "ci_high": m["ci_high"], "n": m["n"], "p_value": None,
                             "small_sample": m["small_sample"]})
        if name in data.changes:
            c = data.changes[name]
            rows.append({"metric": name, "period": "change", "start": data.period[0], "end": data.period[1],
                         "value": c["difference"], "ci_low": c["ci_low"], "ci_high": c["ci_high"], "n": None,
                         "p_value": c["p_value"], "small_sample": None})
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def drivers_frame(data: ReportData) -> pd.DataFrame:
    """Key drivers of NPS (``voxlens.metrics.drivers.key_drivers``) with readable topic labels."""
    return data.drivers.reindex(columns=DRIVER_COLUMNS)


def write_csv(data: ReportData, out: Path) -> list[Path]:
    """Issues to ``out``; topics, metrics and drivers to ``<stem>-topics.csv`` etc. beside it."""
    frames = {"": issues_frame(data.issues), "-topics": topics_frame(data), "-metrics": metrics_frame(data),
              "-drivers": drivers_frame(data)}
    paths = []
    for suffix, frame in frames.items():
        path = out if not suffix else out.with_name(f"{out.stem}{suffix}{out.suffix or '.csv'}")
        frame.map(spreadsheet_safe).to_csv(path, index=False)  # user text never runs as a formula
        paths.append(path)
    return paths


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in json.loads(frame.to_json(orient="records", date_format="iso"))]


def report_json(data: ReportData) -> dict[str, Any]:
    """The whole report as one JSON-ready dict."""
    topics = _records(topics_frame(data))
    for topic in topics:
        topic["keywords"] = topic["keywords"].split(";") if topic["keywords"] else []
    return {
        "issues": data.issues,
        "detection_note": data.detection_note,
        "topics": topics,
        "metrics": {"current": data.metrics_now, "previous": data.metrics_before, "change": data.changes},
        "drivers": _records(drivers_frame(data)),
        "coverage": _records(data.coverage),
        "support_by_month": _records(data.support),
        "customers_by_month": _records(data.business),
        "period": {"start": data.period[0], "end": data.period[1],
                   "previous_start": data.previous_period[0], "previous_end": data.previous_period[1]},
        "filters": data.filters.as_dict(),
    }
