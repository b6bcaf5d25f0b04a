"""``voxlens issues`` over the log (open by default, --all, --since, --as-of, --json, forget) and
``voxlens analyze --backfill``."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from tests.issue_store import END, MODEL, logged_store, stream, write_store
from voxlens.cli import main
from voxlens.core.store import Store
from voxlens.metrics.emerging import IssueDetector

KEYS = {"issue_id", "kind", "topic", "start", "end", "severity", "evidence", "status", "first_flagged",
        "last_seen", "facets", "onset", "ended", "peak_severity", "summary", "topic_ids"}


@pytest.fixture(scope="module")
def log_db(tmp_path_factory):
    """An ended burst of topic 3 (days 40–25 before the last) and a negativity shift of topic 1 (last 8 days)."""
    return str(logged_store(tmp_path_factory.mktemp("issues") / "log.duckdb"))


def run(*args):
    result = CliRunner().invoke(main, list(args))
    return result


def test_issues_lists_open_issues_with_onset_and_status(log_db):
    result = run("issues", "--db", log_db)
    assert result.exit_code == 0, result.output
    assert "topic 1 · word1" in result.output and "topic 3" not in result.output
    assert "since 2026-09-2" in result.output and ("new" in result.output or "ongoing" in result.output)
    everything = run("issues", "--db", log_db, "--all").output
    assert "topic 3 · word3 — resolved, since 2026-08-2" in everything


def test_issues_json_keeps_its_keys_and_adds_the_log_fields(log_db):
    records = json.loads(run("issues", "--db", log_db, "--json", "--all").output)
    assert len(records) == 2 and all(KEYS <= set(r) for r in records)
    open_issue, resolved = records
    assert open_issue["status"] in ("new", "ongoing") and resolved["status"] == "resolved"
    assert resolved["start"] == resolved["onset"] and resolved["end"] == resolved["ended"]
    assert set(open_issue["topic"]) == {"id", "label", "keywords"} and open_issue["topic"]["id"] == 1
    assert "negativity" in open_issue["facets"] and "volume" in resolved["facets"] or "new_topic" in resolved["facets"]
    assert all(set(e) >= {"external_id", "text"} for e in open_issue["evidence"])
    assert abs((pd.Timestamp(open_issue["onset"]) - (END - pd.Timedelta(days=7))).days) <= 2


def test_since_and_as_of_choose_what_the_log_held(log_db):
    since = json.loads(run("issues", "--db", log_db, "--json", "--all", "--since", "2026-09-15").output)
    assert [r["topic"]["id"] for r in since] == [1]
    then = json.loads(run("issues", "--db", log_db, "--json", "--as-of", "2026-08-30").output)
    assert [r["topic"]["id"] for r in then] == [3]
    assert then[0]["status"] in ("new", "ongoing") and then[0]["ended"] is None and then[0]["last_seen"] <= "2026-08-30"
    before = json.loads(run("issues", "--db", log_db, "--json", "--all", "--as-of", "2026-08-01").output)
    assert before == []
    bad = run("issues", "--db", log_db, "--since", "yesterday")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_forget_deletes_one_issue(tmp_path, log_db):
    path = tmp_path / "copy.duckdb"
    path.write_bytes(open(log_db, "rb").read())
    records = json.loads(run("issues", "--db", str(path), "--json", "--all").output)
    gone = run("issues", "forget", records[1]["issue_id"], "--db", str(path))
    assert gone.exit_code == 0 and records[1]["issue_id"] in gone.output
    left = json.loads(run("issues", "--db", str(path), "--json", "--all").output)
    assert [r["issue_id"] for r in left] == [records[0]["issue_id"]]
    missing = run("issues", "forget", "nope", "--db", str(path))
    assert missing.exit_code == 2 and "no issue 'nope'" in missing.output


class _FakeSentiment:
    name = MODEL

    def __init__(self, **kwargs):
        pass


def test_analyze_backfill_replays_history(tmp_path, monkeypatch):
    from voxlens import pipeline

    path = write_store(tmp_path / "s.duckdb", stream(burst_from=20, seed=3))
    from voxlens import ratings

    for module in (pipeline, ratings):
        monkeypatch.setattr(module, "store_sentiment_model", lambda store, **kwargs: _FakeSentiment())
    monkeypatch.setattr(pipeline.Pipeline, "analyze", lambda self: pipeline.AnalyzeSummary())
    monkeypatch.setattr(pipeline.Pipeline, "__init__", _fast_pipeline(pipeline.Pipeline.__init__))
    first = run("analyze", "--db", str(path))
    assert first.exit_code == 0, first.output
    assert "open issues in the log 1" in first.output
    with Store(path) as store:
        store.execute("DELETE FROM issues")
    again = run("analyze", "--db", str(path))
    assert "open issues in the log 0" in again.output        # only the last day is run again
    refilled = run("analyze", "--db", str(path), "--backfill")
    assert "open issues in the log 1" in refilled.output
    record = json.loads(run("issues", "--db", str(path), "--json").output)[0]
    assert abs((pd.Timestamp(record["onset"]) - (END - pd.Timedelta(days=19))).days) <= 1


def _fast_pipeline(init):
    def wrapped(self, store, **kwargs):
        init(self, store, **{**kwargs, "encoder": object(), "detector": IssueDetector(scan_replicates=0)})
    return wrapped
