"""`voxlens demo` on the bundled sample data: the README's first command."""

import json
import re
import subprocess
import sys

import pytest

from voxlens.sample.build import build, write
from voxlens.core.store import Store

pytestmark = pytest.mark.slow


def test_bundled_sample_data_is_exactly_what_the_build_script_makes(tmp_path):
    from voxlens.sample.build import DATA_DIR

    for path in write(tmp_path):
        assert path.read_bytes() == (DATA_DIR / path.name).read_bytes(), f"{path.name}: run python -m voxlens.sample.build"
    assert len(build()["reviews"]) > 1000


def test_demo_ends_with_a_report_showing_the_planted_issue_first(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "voxlens", "demo", "--db", str(tmp_path / "demo.duckdb"), "--out", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "SAMPLE data" in result.stdout
    html_path = re.search(r"Open the report: (\S+)", result.stdout).group(1)
    html = open(html_path, encoding="utf-8").read()
    first_card = html[html.index('id="issue-1"'):html.index("</div>", html.index('id="issue-1"'))]
    assert re.search(r"payment|checkout", first_card, re.I)
    assert "Sample data" in html
    payload = json.loads((tmp_path / "report" / "report.json").read_text())
    issues = payload["issues"]
    # the sample's tickets and subscriptions tell the same story: slower answers, more customers lost
    churn = {m["period"][:7]: m["churn"] for m in payload["customers_by_month"] if m["churn"] is not None}
    assert max(churn, key=churn.get) == "2026-09" and 'id="support-and-customers"' in html
    response = {m["period"][:7]: m["first_response_hours_median"] for m in payload["support_by_month"]}
    assert response["2026-09"] > response["2026-08"] and response["2026-09"] > response["2026-07"]
    assert issues[0]["start"] == "2026-09-17"
    assert issues[0]["topic_ids"] and issues[0]["topic"]["id"] in issues[0]["topic_ids"]
    with Store(tmp_path / "demo.duckdb", read_only=True) as store:     # every assigned item keeps its vector
        assert store.execute("SELECT count(*) = count(vector), min(len(vector)) FROM topics") == [(True, 384)]
        polish = store.execute("SELECT t.topic_id, count(*) FROM topics t JOIN items i ON i.item_id = t.item_id "
                               "WHERE i.lang = 'pl' GROUP BY t.topic_id")
    # the English encoder keeps Polish apart; clustered on its own, Polish feedback gets topics by theme
    assert len(polish) >= 10 and max(n for _, n in polish) < 0.25 * sum(n for _, n in polish)
