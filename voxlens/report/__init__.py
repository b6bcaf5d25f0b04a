"""Issue reports: self-contained HTML with plots, Markdown, CSV and JSON.

Example:
    >>> from voxlens.core.store import Store
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.md"
    >>> with Store(":memory:") as store:
    ...     _ = store.execute("INSERT INTO items (item_id, source, external_id, collected_at, text, content_hash) "
    ...                       "VALUES ('i1', 'appstore', 'r1', now(), 'Great app', 'h1')")
    ...     write_report(store, "md", out).name
    'report.md'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from voxlens.report.data import ReportData, issue_records
from voxlens.report.exports import (
    DRIVER_COLUMNS, ISSUE_COLUMNS, METRIC_COLUMNS, TOPIC_COLUMNS, drivers_frame, issues_frame, metrics_frame,
    report_json, topics_frame, write_csv,
)
from voxlens.report.filters import ReportFilter
from voxlens.report.html import render_html
from voxlens.report.markdown import render_markdown

FORMATS = ("html", "md", "csv", "json")


def write_report(store: Any, fmt: str, out: str | Path, sample: bool = False,
                 filters: ReportFilter | None = None, data: ReportData | None = None) -> Path:
    """Write a report of the store in ``fmt`` (html, md, csv, json) to ``out``; returns the path.

    ``csv`` writes the issues to ``out`` and the topics, metrics and drivers beside it
    (``<stem>-topics.csv``, ``<stem>-metrics.csv``, ``<stem>-drivers.csv``). Pass ``data`` to reuse a
    :class:`ReportData` already gathered.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = data or ReportData.from_store(store, filters)
    if fmt == "html":
        out.write_text(render_html(data, sample=sample), encoding="utf-8")
    elif fmt == "md":
        out.write_text(render_markdown(data), encoding="utf-8")
    elif fmt == "csv":
        write_csv(data, out)
    else:
        out.write_text(json.dumps(report_json(data), indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return out


__all__ = ["DRIVER_COLUMNS", "FORMATS", "ISSUE_COLUMNS", "METRIC_COLUMNS", "ReportData", "ReportFilter",
           "TOPIC_COLUMNS", "drivers_frame", "issue_records", "issues_frame", "metrics_frame", "render_html",
           "render_markdown", "report_json", "topics_frame", "write_report"]
