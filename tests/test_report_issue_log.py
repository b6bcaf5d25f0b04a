"""Reports over the issue log: a timeline, one card per theme with its facets, a Resolved section, metric drops
as changes with their intervals (never a rate ratio), user text escaped."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.issue_store import logged_store
from voxlens.core.store import Store
from voxlens.report import ReportData, render_markdown
from voxlens.report.html import plot_specs, render_html

HOSTILE = "<script>alert('label')</script> bags"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = logged_store(tmp_path_factory.mktemp("report") / "s.duckdb")
    with Store(path) as store:
        store.execute("UPDATE topic_info SET label = ? WHERE topic_id = 3", [HOSTILE])
        facets = {"negativity": {"kind": "negativity_spike", "statistic": 2.5, "window_days": 7,
                                 "first_seen": "2026-09-24", "last_seen": "2026-09-30"},
                  "metric_drop:nps": {"kind": "metric_drop", "metric": "nps", "change": -12.0, "ci_low": -19.5,
                                      "ci_high": -4.5, "before": 30.0, "after": 18.0, "n": 60}}
        store.execute("UPDATE issues SET facets = ? WHERE status <> 'resolved'", [json.dumps(facets)])
        yield ReportData.from_store(store)


def test_the_timeline_draws_each_issue_from_onset_to_last_seen_coloured_by_status(data):
    timeline = plot_specs(data)["timeline"]
    statuses = {trace["name"]: trace for trace in timeline["data"]}
    assert set(statuses) == {issue["status"] for issue in data.issues} and "resolved" in statuses
    resolved = next(i for i in data.issues if i["status"] == "resolved")
    bar = statuses["resolved"]
    assert str(bar["base"][0])[:10] == resolved["onset"]
    days = (pd.Timestamp(resolved["ended"]) - pd.Timestamp(resolved["onset"])).days + 1
    assert bar["x"][0] == pytest.approx(days * 86400e3)
    assert all("&lt;script" in label or "script" not in label for t in timeline["data"] for label in t["y"])


def test_the_html_has_one_card_per_theme_a_resolved_section_and_drops_with_intervals(data):
    page = render_html(data)
    issues = page.split('<section id="issues">', 1)[1].split("</section>", 1)[0]
    assert issues.count('<article class="issue"') == len(data.issues) == 2
    open_part, resolved_part = issues.split('<h2 id="resolved">Resolved</h2>')
    assert "ongoing" in open_part or "new" in open_part
    assert ">resolved<" in resolved_part and "ended" in resolved_part
    assert "NPS down: change -12.0 points (95% CI -19.5 … -4.5)" in open_part
    assert "rate ratio" not in page
    assert "<script>alert('label')" not in page and "&lt;script&gt;alert(&#39;label&#39;)&lt;/script&gt; bags" in page
    assert "drops-1" in plot_specs(data)
    drops = plot_specs(data)["drops-1"]["data"][0]
    assert drops["x"] == [-12.0] and drops["error_x"]["array"] == [7.5] and drops["error_x"]["arrayminus"] == [7.5]


def test_the_markdown_has_facets_and_a_resolved_section(data):
    text = render_markdown(data)
    assert "## Resolved" in text and text.index("## Resolved") > text.index("NPS down: change -12.0")
    assert "<script>" not in text and "rate ratio" not in text
