"""Issue reports: self-contained HTML with plots, Markdown, CSV and JSON.

Example:
    >>> from voxlens.store import Store
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.md"
    >>> with Store(":memory:") as store:
    ...     write_report(store, "md", out).name
    'report.md'
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from voxlens.report.data import ReportData, issue_records

FORMATS = ("html", "md", "csv", "json")


def render_html(data: ReportData, title: str = "voxlens issue report", sample: bool = False) -> str:
    """One self-contained HTML page (plotly.js inline, every user string escaped)."""
    import jinja2
    from plotly.offline import get_plotlyjs

    from voxlens.report.plots import figure_spec, sentiment_trend

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("voxlens.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined,
    )
    topics = data.topics.sort_values("items", ascending=False) if "items" in data.topics else data.topics
    return env.get_template("report.html.j2").render(
        title=title, data=data, sample=sample, plotly_js=get_plotlyjs().replace("</script", "<\\/script"),
        trend_spec=figure_spec(sentiment_trend(data.daily)),
        topics=topics.fillna({"mean_score": 0.0, "negative_share": 0.0, "items": 0}).to_dict("records"),
        coverage=data.coverage.to_dict("records"),
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _md_cell(value: Any) -> str:
    """Text safe in a Markdown table or quote: no raw HTML, no link syntax, one line."""
    import html

    text = html.escape(str(value), quote=False).replace("[", "\\[").replace("]", "\\]")
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def render_markdown(data: ReportData, title: str = "voxlens issue report") -> str:
    """Markdown for tickets and chat: metrics, issues with quotes, topics."""
    lines = [f"# {title}", "", f"Data from {data.period[0]} to {data.period[1]}.", ""]
    if data.metrics_now:
        lines += ["## Metrics (last 30 days)", "", "| metric | value | 95% CI | n |", "|---|---:|---|---:|"]
        for name, m in data.metrics_now.items():
            lines.append(f"| {name.upper()} | {m['value']:.1f} | {m['ci_low']:.1f} – {m['ci_high']:.1f} | {m['n']} |")
        lines.append("")
    lines += ["## Emerging issues", ""]
    if not data.issues:
        lines.append("No emerging issues in the latest window.")
    for rank, issue in enumerate(data.issues, start=1):
        lines += [f"### {rank}. {_md_cell(issue['topic']['label'])}", "",
                  f"{issue['kind'].replace('_', ' ')} · {issue['start']} → {issue['end']} · "
                  f"severity {issue['severity']:.1f}", "", _md_cell(issue["summary"]), ""]
        lines += [f"> {_md_cell(q['text'])[:400]}" + "\n" for q in issue["evidence"]]
    lines += ["", "## Topics", "", "| id | topic | items | mean sentiment |", "|---:|---|---:|---:|"]
    for t in data.topics.to_dict("records"):
        lines.append(f"| {t['topic_id']} | {_md_cell(t['label'])} | {t.get('items', '')} | {t.get('mean_score', 0):.2f} |")
    return "\n".join(lines) + "\n"


def issues_frame(issues: list[dict[str, Any]]) -> pd.DataFrame:
    """Issues flattened to one row each (CSV export); evidence ids joined by ``;``."""
    return pd.DataFrame([{
        "issue_id": i["issue_id"], "kind": i["kind"], "topic_id": i["topic"]["id"],
        "topic_label": i["topic"]["label"], "topic_keywords": ";".join(i["topic"]["keywords"]),
        "start": i["start"], "end": i["end"], "severity": i["severity"], "statistic": i["statistic"],
        "p_value": i["p_value"], "q_value": i["q_value"], "summary": i["summary"],
        "evidence_external_ids": ";".join(str(e["external_id"]) for e in i["evidence"]),
    } for i in issues], columns=["issue_id", "kind", "topic_id", "topic_label", "topic_keywords", "start", "end",
                                 "severity", "statistic", "p_value", "q_value", "summary", "evidence_external_ids"])


def write_report(store: Any, fmt: str, out: str | Path, sample: bool = False) -> Path:
    """Write a report of the store in ``fmt`` (html, md, csv, json) to ``out``; returns the path."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = ReportData.from_store(store)
    if fmt == "html":
        out.write_text(render_html(data, sample=sample), encoding="utf-8")
    elif fmt == "md":
        out.write_text(render_markdown(data), encoding="utf-8")
    elif fmt == "csv":
        from voxlens.privacy import spreadsheet_safe

        issues_frame(data.issues).map(spreadsheet_safe).to_csv(out, index=False)
    else:
        payload = {
            "issues": data.issues,
            "topics": json.loads(data.topics.to_json(orient="records", date_format="iso")),
            "metrics": {"current": data.metrics_now, "previous": data.metrics_before},
            "period": {"start": data.period[0], "end": data.period[1]},
        }
        out.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return out


__all__ = ["FORMATS", "ReportData", "issue_records", "issues_frame", "render_html", "render_markdown", "write_report"]
