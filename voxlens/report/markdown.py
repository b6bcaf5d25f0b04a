"""The report as Markdown, for tickets and chat.

Example:
    >>> _cell("a | b\\n[link](javascript:x) <b>")
    'a \\\\| b \\\\[link\\\\](javascript:x) &lt;b&gt;'
"""

from __future__ import annotations

import math
from typing import Any

from voxlens.report.data import ReportData, facet_lines

UNITS = {"nps": "", "csat": "%", "ces": ""}


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell or quote: one line, no raw HTML, no links of its own."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")
    for char in "[]`":
        text = text.replace(char, "\\" + char)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _num(value: Any, fmt: str = "{:.1f}") -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else fmt.format(value)


def _link(quote: dict[str, Any]) -> str:
    url = quote.get("url") or ""
    label = f"{quote['source']} {quote['external_id']}"
    return f"[{_cell(label)}]({url})" if url.startswith(("http://", "https://")) else _cell(label)


def render_markdown(data: ReportData, title: str = "voxlens issue report") -> str:
    """Headline, metrics now vs before, issues with quotes, topics with NPS impact, drivers, support and
    customers by month, coverage."""
    scope = data.filters.describe()
    lines = [f"# {title}", ""]
    if data.period[0]:
        lines += [f"Metrics period {data.period[0]} to {data.period[1]}, compared with {data.previous_period[0]} "
                  f"to {data.previous_period[1]}." + (f" Filter: {scope}." if scope else ""), ""]
    if data.issues:
        top = data.issues[0]
        lines += [f"**{len(data.issues)} emerging issue(s).** Most severe: **{_cell(top['topic']['label'])}** — "
                  f"{_cell(top['summary'])}.", ""]
    if data.metrics_now:
        lines += ["## Metrics", "", "| metric | now | 95% CI | n | before | change (95% CI) |",
                  "|---|---:|---|---:|---:|---|"]
        for name, m in data.metrics_now.items():
            before = data.metrics_before.get(name, {})
            change = data.changes.get(name)
            change_text = (f"{_num(change['difference'], '{:+.1f}')} ({_num(change['ci_low'], '{:+.1f}')} … "
                           f"{_num(change['ci_high'], '{:+.1f}')})" if change else "—")
            small = " (small sample)" if m["small_sample"] else ""
            lines.append(f"| {name.upper()} | {m['value']:.1f}{UNITS[name]} | {m['ci_low']:.1f} – {m['ci_high']:.1f} "
                         f"| {m['n']}{small} | {_num(before.get('value'))} | {change_text} |")
        lines.append("")
    lines += ["## Emerging issues", ""]
    if not data.issues:
        lines.append(f"{data.detection_note}." if data.detection_note
                     else "No emerging issues in the latest window.")
    open_issues = [(r, i) for r, i in enumerate(data.issues, start=1) if i["status"] != "resolved"]
    resolved = [(r, i) for r, i in enumerate(data.issues, start=1) if i["status"] == "resolved"]
    if data.issues and not open_issues:
        lines.append("No open issue.")
    for rank, issue in open_issues:
        lines += _issue_lines(rank, issue)
    if resolved:
        lines += ["", "## Resolved", ""]
        for rank, issue in resolved:
            lines += _issue_lines(rank, issue)
    lines += ["", "## Topics", "", "| id | topic | items | net sentiment | NPS with | NPS impact |",
              "|---:|---|---:|---:|---:|---:|"]
    for t in data.topics.to_dict("records"):
        lines.append(f"| {t['topic_id']} | {_cell(t['label'])} | {t['items']} | {_num(t['net_sentiment'], '{:+.0f}')} "
                     f"| {_num(t['nps_with'])} | {_num(t['nps_impact'], '{:+.1f}')} |")
    if not data.drivers.empty:
        lines += ["", "## Key drivers of NPS", "", "| driver | NPS points | 95% CI | n |", "|---|---:|---|---:|"]
        for d in data.drivers.head(10).to_dict("records"):
            lines.append(f"| {_cell(d['label'])} | {d['coefficient']:+.1f} | {_num(d['ci_low'], '{:+.1f}')} … "
                         f"{_num(d['ci_high'], '{:+.1f}')} | {d['n']} |")
    lines += _support_and_customers(data)
    lines += ["", "## Data coverage", "", "| source | kind | rows | from | to | quarantined |", "|---|---|---:|---|---|---:|"]
    for c in data.coverage.to_dict("records"):
        lines.append(f"| {_cell(c['source'])} | {c['kind']} | {c['rows']} | {c['first']} | {c['last']} | {c['quarantined']} |")
    return "\n".join(lines) + "\n"


def _issue_lines(rank: int, issue: dict[str, Any]) -> list[str]:
    until = f"ended {issue['ended']}" if issue.get("ended") else f"last seen {issue['last_seen']}"
    lines = [f"### {rank}. {_cell(issue['topic']['label'])}", "",
             f"{issue['status']} · since {issue['onset']} · first flagged {issue['first_flagged']} · {until} · "
             f"severity {issue['severity']:.1f} (peak {issue['peak_severity']:.1f})", ""]
    lines += [f"- {_cell(line)}" for line in facet_lines(issue)] + ["", _cell(issue["summary"]), ""]
    return lines + [f"> {_cell(q['text'])[:400]} — {_link(q)}\n" for q in issue["evidence"]]


def _support_and_customers(data: ReportData) -> list[str]:
    lines = []
    if not data.support.empty:
        lines += ["", "## Support tickets by month", "",
                  "| month | tickets | first response, median (h) | resolution, median (h) | reopen rate (95% CI) |",
                  "|---|---:|---:|---:|---|"]
        for t in data.support.to_dict("records"):
            lines.append(f"| {t['period'][:7]} | {t['tickets']} | {_num(t['first_response_hours_median'])} "
                         f"| {_num(t['resolution_hours_median'])} | {_num(t['reopen_rate'], '{:.1f}%')} "
                         f"({_num(t['reopen_ci_low'], '{:.0f}')}–{_num(t['reopen_ci_high'], '{:.0f}')}) |")
    if not data.business.empty:
        lines += ["", "## Customers by month", "",
                  "| month | customers at start | new | lost | retention | churn | NRR | revenue | CLV |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for b in data.business.to_dict("records"):
            percent = [_num(100 * b[k], "{:.1f}%") for k in ("retention", "churn", "nrr")]
            lines.append(f"| {b['period'][:7]} | {b['customers_start']} | {b['new']} | {b['lost']} | "
                         + " | ".join(percent) + f" | {_num(b['revenue'], '{:.0f}')} | {_num(b['clv'], '{:.0f}')} |")
    return lines
