"""The report as one self-contained HTML page: plotly.js inline, every user string escaped.

Example:
    >>> env = template_environment()
    >>> env.from_string("{{ text }}").render(text="<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

import jinja2
import pandas as pd

from voxlens.report.data import STATUS_COLOURS, ReportData, facet_lines
from voxlens.core.privacy import safe_url
from voxlens.report.plots import (driver_chart, issue_timeline, metric_drop_chart, safe_json, sentiment_trend,
                                  sparkline, topic_chart)


def template_environment() -> jinja2.Environment:
    """Jinja2 with autoescape on for every template and string."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("voxlens.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["num"] = _num
    env.filters["safe_url"] = safe_url
    return env


def _num(value: Any, fmt: str = "%.1f", missing: str = "—") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return fmt % value


def plot_specs(data: ReportData) -> dict[str, str]:
    """Element id → plotly figure JSON, for every plot the page draws."""
    specs = {"trend": sentiment_trend(data.daily)}
    if not data.topics.empty:
        specs["topics-chart"] = topic_chart(data.topics)
    if not data.drivers.empty:
        specs["drivers"] = driver_chart(data.drivers)
    if data.issues:
        specs["timeline"] = issue_timeline(data.issues, STATUS_COLOURS)
    for rank, issue in enumerate(data.issues, start=1):
        series = data.issue_series.get(issue["issue_id"])
        if series is not None and len(series):
            specs[f"spark-{rank}"] = sparkline(series, issue["start"])
        drops = metric_drop_chart(issue.get("facets", {}))
        if drops is not None:
            specs[f"drops-{rank}"] = drops
    return {key: figure.to_plotly_json() for key, figure in specs.items()}


def render_html(data: ReportData, title: str = "voxlens issue report", sample: bool = False) -> str:
    """One self-contained HTML page (opens offline, prints on A4, fits a laptop screen)."""
    from plotly.io.json import to_json_plotly
    from plotly.offline import get_plotlyjs

    topics = data.topics.to_dict("records")
    for topic in topics:
        topic["keywords"] = list(topic["keywords"]) if topic["keywords"] is not None else []
        topic["first_seen"] = None if pd.isna(topic["first_seen"]) else pd.Timestamp(topic["first_seen"]).date()
    return template_environment().get_template("report.html.j2").render(
        title=title, data=data, sample=sample, scope=data.filters.describe(), colours=STATUS_COLOURS,
        open_issues=[(rank, i) for rank, i in enumerate(data.issues, start=1) if i["status"] != "resolved"],
        resolved_issues=[(rank, i) for rank, i in enumerate(data.issues, start=1) if i["status"] == "resolved"],
        facets={i["issue_id"]: facet_lines(i) for i in data.issues},
        plotly_js=get_plotlyjs().replace("</script", "<\\/script"),
        plots_json=safe_json(to_json_plotly(plot_specs(data))),
        topics=topics, drivers=data.drivers.head(12).to_dict("records"),
        coverage=data.coverage.to_dict("records"), support=data.support.to_dict("records"),
        business=data.business.to_dict("records"),
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
