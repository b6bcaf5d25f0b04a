"""Reports from a small analysed store: formats, stable export columns, filters, escaping."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.report_store import HOSTILE_TEXT, build_small_store
from voxlens.core.errors import InputError
from voxlens.report import (
    DRIVER_COLUMNS, ISSUE_COLUMNS, METRIC_COLUMNS, TOPIC_COLUMNS, ReportData, ReportFilter, render_markdown,
    write_report,
)
from voxlens.core.store import Store


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    db = build_small_store(tmp_path_factory.mktemp("small") / "small.duckdb")
    with Store(db, read_only=True) as store:
        yield store


def test_csv_export_writes_four_files_with_the_documented_columns(small, tmp_path):
    write_report(small, "csv", tmp_path / "out.csv")
    columns = {name: pd.read_csv(tmp_path / name).columns.tolist()
               for name in ("out.csv", "out-topics.csv", "out-metrics.csv", "out-drivers.csv")}
    assert columns == {"out.csv": ISSUE_COLUMNS, "out-topics.csv": TOPIC_COLUMNS,
                       "out-metrics.csv": METRIC_COLUMNS, "out-drivers.csv": DRIVER_COLUMNS}
    metrics = pd.read_csv(tmp_path / "out-metrics.csv")
    nps = metrics[metrics["metric"] == "nps"].set_index("period")
    assert set(nps.index) == {"current", "previous", "change"}
    assert nps.loc["change", "value"] == pytest.approx(nps.loc["current", "value"] - nps.loc["previous", "value"])
    assert nps.loc["current", "ci_low"] < nps.loc["current", "value"] < nps.loc["current", "ci_high"]


def test_json_keeps_the_issue_shape_and_adds_topics_metrics_drivers_coverage(small, tmp_path):
    payload = json.loads(write_report(small, "json", tmp_path / "r.json").read_text())
    issue = payload["issues"][0]
    assert {"kind", "topic", "start", "end", "severity", "evidence"} <= set(issue)
    assert set(issue["topic"]) == {"id", "label", "keywords"} and issue["start"] == "2026-09-24"
    assert {"external_id", "text", "source", "url", "created_at"} <= set(issue["evidence"][0])
    assert payload["period"] == {"start": "2026-09-01", "end": "2026-09-30",
                                 "previous_start": "2026-08-02", "previous_end": "2026-08-31"}
    assert set(payload["metrics"]) == {"current", "previous", "change"}
    assert set(payload["topics"][0]) == set(TOPIC_COLUMNS) and payload["topics"][0]["keywords"]
    assert {c["source"] for c in payload["coverage"]} == {"appstore", "reddit", "survey"}


def test_topics_carry_nps_impact_and_the_problem_topic_is_all_negative(small):
    data = ReportData.from_store(small)
    topics = data.topics.set_index("topic_id")
    assert topics.loc[1, "net_sentiment"] == -100
    assert topics.loc[1, "nps_with"] < topics.loc[0, "nps_with"]
    assert topics.loc[1, "nps_impact"] < 0
    assert not data.drivers.empty and data.drivers["label"].str.contains(r"\(negative\)").any()


def test_filters_narrow_dates_sources_and_segments(small):
    september = ReportData.from_store(small, ReportFilter(since="2026-09-01", until="2026-09-30"))
    assert september.period == ("2026-09-01", "2026-09-30")
    assert september.daily["day"].min() == pd.Timestamp("2026-09-01")
    reddit = ReportData.from_store(small, ReportFilter(sources=("reddit",)))
    assert reddit.coverage["source"].tolist() == ["reddit"] and reddit.metrics_now == {}
    business = ReportData.from_store(small, ReportFilter(segments=("business",)))
    assert business.coverage["source"].unique().tolist() == ["survey"]
    assert business.metrics_now["nps"]["n"] < ReportData.from_store(small).metrics_now["nps"]["n"]
    before = ReportData.from_store(small, ReportFilter(until="2026-09-10"))
    assert before.issues == []  # the issue starts on 2026-09-24


@pytest.mark.parametrize("filters, message", [
    (ReportFilter(sources=("zendesk",)), "sources: appstore, reddit, survey"),
    (ReportFilter(segments=("gold",)), "segments: business, free"),
    (ReportFilter(since="2026-10-01", until="2026-09-01"), "swap them"),
    (ReportFilter(since="yesterday-ish"), "use YYYY-MM-DD"),
])
def test_a_filter_that_cannot_match_says_what_exists(small, filters, message):
    with pytest.raises(InputError, match=message):
        ReportData.from_store(small, filters)


def test_an_empty_store_says_to_import_first(tmp_path):
    with Store(tmp_path / "empty.duckdb") as store, pytest.raises(InputError, match="import some first"):
        write_report(store, "html", tmp_path / "r.html")


def test_markdown_shows_user_text_literally_without_markup_or_links(small):
    text = render_markdown(ReportData.from_store(small))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>" not in text
    assert "\\[click me\\](javascript:alert(1))" in text
    assert "| CSAT |" in text and "## Key drivers of NPS" in text


def test_html_escapes_user_text_everywhere(small, tmp_path):
    html = write_report(small, "html", tmp_path / "r.html").read_text()
    body = html[html.index("<body>"):]
    assert HOSTILE_TEXT not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert 'href="javascript' not in body and "<img" not in body
    assert body.count("<script") == 2


def test_support_and_customer_sections_appear_only_with_tickets_or_subscriptions(small, tmp_path):
    data = ReportData.from_store(small)
    assert data.support.empty and data.business.empty
    assert "Support tickets" not in render_markdown(data) and "Customers by month" not in render_markdown(data)
    payload = json.loads(write_report(small, "json", tmp_path / "r.json").read_text())
    assert payload["support_by_month"] == [] and payload["customers_by_month"] == []


def test_support_and_customer_sections_show_the_hand_computed_values(small, tmp_path):
    from voxlens.collectors.subscriptions import import_subscriptions
    from voxlens.collectors.tickets import import_tickets

    db = tmp_path / "copy.duckdb"
    db.write_bytes(Path(small.path).read_bytes())
    (tmp_path / "tickets.csv").write_text(
        "id,created_at,first_reply_at,solved_at,reopens\n"
        "1,2026-08-03T08:00:00Z,2026-08-03T10:00:00Z,2026-08-03T18:00:00Z,0\n"
        "2,2026-08-04T08:00:00Z,2026-08-04T12:00:00Z,2026-08-05T14:00:00Z,1\n")
    (tmp_path / "subscriptions.csv").write_text(
        "customer_id,period,revenue\na,2026-07-01,10\nb,2026-07-01,10\nc,2026-07-01,20\n"
        "a,2026-08-01,10\nb,2026-08-01,15\nd,2026-08-01,5\n")
    with Store(db) as store:
        import_tickets(store, tmp_path / "tickets.csv")
        import_subscriptions(store, tmp_path / "subscriptions.csv")
        data = ReportData.from_store(store)
        html = write_report(store, "html", tmp_path / "r.html", data=data).read_text()
    markdown = render_markdown(data)
    # first responses 2 h and 4 h, resolutions 10 h and 30 h, one of two reopened
    assert "| 2026-08 | 2 | 3.0 | 20.0 | 50.0% (" in markdown
    # July a, b, c (40); August a, b, d: 1 new, 1 lost, retention (3 − 1) / 3, churn 1 / 3, NRR (10 + 15) / 40
    assert "| 2026-08 | 3 | 1 | 1 | 66.7% | 33.3% | 62.5% | 30 |" in markdown
    assert 'id="support-and-customers"' in html and "66.7%" in html and "62.5%" in html
