"""The metrics commands of the CLI on a small store built by hand (no model needed)."""

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from voxlens.cli import main
from voxlens.core.store import Store


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "feedback.duckdb"
    days = pd.to_datetime(["2026-03-02", "2026-03-03", "2026-03-10", "2026-03-11"])
    with Store(path) as store:
        store.upsert("responses", pd.DataFrame({
            "response_id": ["r1", "r2", "r3", "r4"], "source": "survey", "external_id": ["1", "2", "3", "4"],
            "submitted_at": days, "nps": [10, 9, 2, 0], "csat": [5, 4, 2, 1], "csat_scale": 5,
            "ces": [7, 6, 2, 1], "ces_scale": 7, "segment": ["pro", "free", "pro", "free"], "content_hash": "h"}),
            key=["response_id"])
        store.upsert("items", pd.DataFrame({
            "item_id": ["a", "b", "c", "d"], "source": "survey", "external_id": ["1", "2", "3", "4"],
            "created_at": days, "collected_at": days, "text": ["fast courier", "great app",
                                                              "payment failed", "payment failed again"],
            "response_id": ["r1", "r2", "r3", "r4"], "content_hash": "h"}), key=["item_id"])
        store.upsert("scores", pd.DataFrame({
            "item_id": ["a", "b", "c", "d"], "model": "m", "label": ["positive", "positive", "negative", "negative"],
            "score": [0.9, 0.8, -0.9, -0.9], "p_negative": 0.1, "p_neutral": 0.1, "p_positive": 0.8,
            "scored_at": days}), key=["item_id", "model"])
        store.upsert("topics", pd.DataFrame({"item_id": ["a", "b", "c", "d"], "topic_id": [0, 0, 1, 1],
                                             "probability": 0.9}), key=["item_id"])
        store.upsert("topic_info", pd.DataFrame({"topic_id": [0, 1], "label": ["courier · app", "payment · failed"],
                                                 "keywords": [["courier"], ["payment"]]}), key=["topic_id"])
    return str(path)


def test_metrics_by_week_and_segment_as_csv(db):
    result = CliRunner().invoke(main, ["metrics", "--db", db, "--by", "week", "--segment", "segment",
                                       "--format", "csv"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(pd.io.common.StringIO(result.output))
    pro = table[table["segment"] == "pro"].set_index("period")
    assert pro.loc["2026-03-02", "nps"] == 100 and pro.loc["2026-03-09", "nps"] == -100
    assert table["small_sample"].all()


def test_topics_and_drivers_commands_show_the_join(db):
    topics = CliRunner().invoke(main, ["topics", "--db", db, "--format", "json"])
    assert topics.exit_code == 0, topics.output
    rows = {row["label"]: row for row in json.loads(topics.output)}
    assert rows["payment · failed"]["nps_with"] == -100 and rows["payment · failed"]["nps_impact"] == -100
    drivers = CliRunner().invoke(main, ["drivers", "--db", db, "--target", "csat"])
    assert drivers.exit_code == 0 and "no data" in drivers.output   # 4 answers: too few to estimate drivers


def test_import_customers_then_business_metrics(db, tmp_path):
    csv = tmp_path / "subscriptions.csv"
    csv.write_text("customer_id,period,revenue,segment\n"
                   "a,2026-01-15,10,pro\nb,2026-01-20,20,pro\na,2026-02-15,12,pro\nc,2026-02-02,5,free\n")
    imported = CliRunner().invoke(main, ["import", "customers", str(csv), "--db", db])
    assert imported.exit_code == 0 and "4 customer-period rows stored" in imported.output
    result = CliRunner().invoke(main, ["metrics", "--db", db, "--kind", "business", "--by", "month",
                                       "--format", "json"])
    february = json.loads(result.output)[1]
    assert february["retention"] == 0.5 and february["churn"] == 0.5 and february["nrr"] == pytest.approx(0.4)
    assert february["expansion_revenue"] == 2


def test_a_bad_subscriptions_file_says_what_is_missing(db, tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("customer,month,mrr\na,2026-01-01,3\n")
    result = CliRunner().invoke(main, ["import", "customers", str(csv), "--db", db])
    assert result.exit_code == 2 and "missing column(s) customer_id, period, revenue" in result.output
