"""The issue log: lifecycle, one issue per theme, onset estimates, backfill, migration."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.issue_store import END, MODEL, stream, write_store
from voxlens.core.store import DETECTED_THROUGH, SCHEMA_VERSION, Store
from voxlens.issues import IssueTracker
from voxlens.metrics.emerging import ISSUE_COLUMNS, IssueDetector
from voxlens.metrics.issue_log import IssueLog, empty_log, themes
from voxlens.metrics.onset import change_point, estimate_end, estimate_onset


def finding(kind="volume_spike", topics=(3,), start="2026-05-08", end="2026-05-10", severity=10.0,
            evidence=("a", "b"), detail=None):
    return {"issue_id": f"{kind}-{topics}", "kind": kind, "topic_id": topics[0] if topics else None,
            "topic_ids": list(topics), "window_start": pd.Timestamp(start).date(),
            "window_end": pd.Timestamp(end).date(), "severity": severity, "statistic": 2.0, "p_value": 1e-6,
            "q_value": 1e-5, "summary": f"{kind} summary", "evidence": list(evidence), "detail": detail}


def frame(*rows):
    return pd.DataFrame(list(rows), columns=ISSUE_COLUMNS)


def day(text):
    return pd.Timestamp(text)


def test_an_issue_goes_new_ongoing_resolved_and_reopened():
    rules = IssueLog(resolve_after=3, reopen_days=10, confirm=1)
    log = rules.update(empty_log(), frame(finding()), day("2026-05-10"))
    assert log["status"].tolist() == ["new"]
    log = rules.update(log, frame(finding(severity=30.0, evidence=("c",))), day("2026-05-11"))
    assert log["status"].tolist() == ["ongoing"]
    assert log.loc[0, "last_seen"].isoformat() == "2026-05-11"
    assert log.loc[0, "peak_severity"] == 30.0 and log.loc[0, "evidence"] == ["a", "b", "c"]
    log = rules.update(log, frame(), day("2026-05-13"))
    assert log["status"].tolist() == ["ongoing"]       # 2 quiet days: not yet resolved
    log = rules.update(log, frame(), day("2026-05-14"))
    assert log["status"].tolist() == ["resolved"] and log.loc[0, "ended"].isoformat() == "2026-05-11"
    issue_id = log.loc[0, "issue_id"]
    log = rules.update(log, frame(finding(severity=5.0)), day("2026-05-20"))
    assert log["status"].tolist() == ["reopened"] and log.loc[0, "issue_id"] == issue_id
    assert log.loc[0, "ended"] is None and log.loc[0, "peak_severity"] == 30.0
    log = rules.update(log, frame(), day("2026-05-23"))
    assert log["status"].tolist() == ["resolved"] and log.loc[0, "ended"].isoformat() == "2026-05-20"


def test_a_theme_back_long_after_its_end_is_a_new_issue():
    rules = IssueLog(resolve_after=3, reopen_days=10, confirm=1)
    log = rules.update(empty_log(), frame(finding()), day("2026-05-10"))
    log = rules.update(log, frame(), day("2026-05-13"))
    log = rules.update(log, frame(finding(start="2026-06-20", end="2026-06-20")), day("2026-06-20"))
    assert log["status"].tolist() == ["resolved", "new"]
    assert log["issue_id"].nunique() == 2 and log.loc[1, "onset"].isoformat() == "2026-06-20"


def test_a_new_topic_and_the_metric_drops_it_explains_are_one_issue_with_facets():
    drops = [finding("metric_drop", topics=(3,), severity=2.0, evidence=("q",),
                     detail={"metric": m, "change": -9.0, "ci_low": -14.0, "ci_high": -4.0}) for m in ("nps", "csat", "ces")]
    log = IssueLog(confirm=1).update(empty_log(), frame(finding("new_topic"), *drops, finding(topics=(1,), evidence=("z",))),
                            day("2026-05-10"))
    assert len(log) == 2
    theme = log[log["topic_id"] == 3].iloc[0]
    assert theme["kind"] == "new_topic"
    assert set(theme["facets"]) == {"new_topic", "metric_drop:nps", "metric_drop:csat", "metric_drop:ces"}
    assert theme["facets"]["metric_drop:nps"]["ci_low"] == -14.0
    assert theme["severity"] == 10.0            # the items' excess; a drop adds no items


def test_findings_sharing_evidence_are_one_theme_and_a_topicless_drop_matches_its_metric():
    assert themes(pd.DataFrame({"topic_ids": [[1], [2], [7]], "evidence": [["a"], ["a"], ["b"]]})) == [[0, 1], [2]]
    drop = finding("metric_drop", topics=(), evidence=(), detail={"metric": "nps"})
    log = IssueLog(confirm=1).update(empty_log(), frame(drop), day("2026-05-10"))
    log = IssueLog(confirm=1).update(log, frame(drop, {**drop, "detail": {"metric": "csat"}}), day("2026-05-11"))
    assert log["status"].tolist() == ["ongoing", "new"]


def test_a_theme_flagged_once_is_a_candidate_dropped_unless_confirmed():
    rules = IssueLog()                      # confirm on 2 days within 3
    log = rules.update(empty_log(), frame(finding()), day("2026-05-10"))
    assert log["status"].tolist() == ["candidate"]
    log = rules.update(log, frame(), day("2026-05-11"))
    log = rules.update(log, frame(finding(evidence=("c",))), day("2026-05-12"))
    assert log["status"].tolist() == ["new"] and log.loc[0, "first_flagged"].isoformat() == "2026-05-10"
    log = rules.update(log, frame(finding(topics=(8,), evidence=("q",))), day("2026-05-13"))
    assert log["status"].tolist() == ["ongoing", "candidate"]
    log = rules.update(log, frame(), day("2026-05-16"))
    assert log["status"].tolist() == ["ongoing"]        # the blip of topic 8 never became an issue


def test_the_change_point_finds_a_planted_rise_and_its_end():
    rng = np.random.default_rng(3)
    totals = rng.poisson(200, 60)
    share = np.where(np.arange(60) >= 41, 0.18, 0.05)
    hits = rng.binomial(totals, share)
    assert abs(change_point(hits, totals) - 41) <= 1
    days = pd.date_range("2026-01-01", periods=60)
    falls = rng.binomial(totals, np.where((np.arange(60) >= 20) & (np.arange(60) < 35), 0.2, 0.05))
    onset = estimate_onset(pd.Series(falls, days), pd.Series(totals, days), not_after=days[40])
    assert abs((onset - days[20]).days) <= 1
    assert abs((estimate_end(pd.Series(falls, days), pd.Series(totals, days), onset, days[-1]) - days[34]).days) <= 1
    assert change_point(np.full(10, 5), np.full(10, 50)) is None       # no rise at all


def tracker(store, step=3, **detector):
    return IssueTracker(store, IssueDetector(scan_replicates=0, **detector), model=MODEL, step=step)


@pytest.mark.parametrize("age", [5, 15, 30])
def test_the_first_run_backfills_and_dates_a_burst_by_its_onset_not_the_window(tmp_path, age):
    path = write_store(tmp_path / "s.duckdb", stream(burst_from=age, seed=age))
    with Store(path) as store:
        tracker(store).catch_up()
        log = tracker(store).log()
        assert store.get_meta(DETECTED_THROUGH) == END.date().isoformat()
    assert log["topic_ids"].map(list).tolist() == [[3]]
    onset = END - pd.Timedelta(days=age - 1)
    assert abs((pd.Timestamp(log.loc[0, "onset"]) - onset).days) <= 1
    assert log.loc[0, "status"] in ("ongoing", "new") and pd.Timestamp(log.loc[0, "first_flagged"]) <= onset + pd.Timedelta(days=2)


def test_a_burst_that_ended_is_resolved_with_its_end(tmp_path):
    path = write_store(tmp_path / "s.duckdb", stream(burst_from=30, burst_until=18, seed=2))
    with Store(path) as store:
        tracker(store).catch_up()
        row = tracker(store).log().iloc[0]
    assert row["status"] == "resolved"
    assert abs((pd.Timestamp(row["ended"]) - (END - pd.Timedelta(days=18))).days) <= 2
    assert abs((pd.Timestamp(row["onset"]) - (END - pd.Timedelta(days=29))).days) <= 1


def test_the_backfill_gives_what_a_daily_schedule_would(tmp_path):
    items = stream(burst_from=30, burst_until=12, negative_from=9, seed=5)
    daily_path = write_store(tmp_path / "daily.duckdb", items)
    with Store(daily_path) as store:                     # a run every day, each on the items known then
        for last in pd.date_range(items["created_at"].min() + pd.Timedelta(days=13), END):
            tracker(store, step=1).catch_up(last)
        daily = tracker(store).log()
    backfill_path = write_store(tmp_path / "backfill.duckdb", items)
    with Store(backfill_path) as store:
        tracker(store, step=3).catch_up()
        replayed = tracker(store).log()
    columns = ["issue_id", "topic_ids", "onset", "first_flagged", "last_seen", "ended", "status"]
    assert len(daily) >= 2
    pd.testing.assert_frame_equal(daily.sort_values("issue_id")[columns].reset_index(drop=True),
                                  replayed.sort_values("issue_id")[columns].reset_index(drop=True))


def test_a_daily_run_reads_only_its_windows_items_and_counts_the_rest_in_the_store(tmp_path, monkeypatch):
    items = stream(burst_from=10, seed=3)
    with Store(write_store(tmp_path / "s.duckdb", items)) as store:
        tracker(store).catch_up(END - pd.Timedelta(days=1))
        loaded = []
        original = IssueTracker.history
        monkeypatch.setattr(IssueTracker, "history",
                            lambda self, *a, **k: loaded.append(original(self, *a, **k)) or loaded[-1])
        daily = tracker(store)
        daily.catch_up()
        everything = original(daily).items
    window = loaded[0].items["day"]
    assert window.min() == END - pd.Timedelta(days=daily.lookback - 1) and window.max() == END
    assert len(loaded[0].items) < len(items) == len(everything)
    topical = everything[everything["topic_id"] >= 0]       # the series still span the whole store
    expected = {"totals": everything.groupby("day").size(),
                "counts": topical.groupby(["topic_id", "day"]).size().unstack(fill_value=0),
                "negatives": topical.groupby(["topic_id", "day"])["negative"].sum().unstack(fill_value=0)}
    pd.testing.assert_series_equal(loaded[0].totals, expected["totals"], check_dtype=False, check_names=False)
    for series in ("counts", "negatives"):
        pd.testing.assert_frame_equal(getattr(loaded[0], series), expected[series], check_dtype=False,
                                      check_names=False)
    assert expected["totals"].sum() == len(items)


def test_history_reads_every_items_vector_in_item_order_over_several_chunks(tmp_path):
    items = stream(seed=4)                                  # about 4,800 items: the vectors come in 3 chunks
    vectors = np.random.default_rng(0).normal(size=(len(items), 8)).astype(np.float32)
    with Store(write_store(tmp_path / "s.duckdb", items)) as store:
        store.upsert("topics", items[["item_id", "topic_id"]].assign(probability=0.9, vector=list(vectors)),
                     key=["item_id"])
        odd = items["item_id"].iloc[[5, 6]].tolist()
        store.execute("UPDATE topics SET vector = NULL WHERE item_id = ?", [odd[0]])
        store.execute("UPDATE topics SET vector = [1.0, 2.0] WHERE item_id = ?", [odd[1]])
        tracker = IssueTracker(store, IssueDetector(), model=MODEL)        # the similar-items scan reads vectors
        history, recent = tracker.history(), tracker.history(since=END - pd.Timedelta(days=9))
    expected = pd.DataFrame(vectors, index=items["item_id"])
    expected.loc[odd] = np.nan                              # no vector, or one of another length
    for loaded in (history, recent):
        assert loaded.items["day"].is_monotonic_increasing and loaded.vectors.shape == (len(loaded.items), 8)
        np.testing.assert_array_equal(loaded.vectors, expected.loc[loaded.items["item_id"]].to_numpy())
    assert len(recent.items) < len(history.items) == len(items)


def test_runs_keep_the_log_and_backfill_replaces_nothing_it_does_not_find(tmp_path):
    path = write_store(tmp_path / "s.duckdb", stream(burst_from=10, seed=1))
    with Store(path) as store:
        tracker(store).catch_up(END - pd.Timedelta(days=3))
        first = tracker(store).log()
        tracker(store).catch_up()
        later = tracker(store).log()
        assert set(first["issue_id"]) <= set(later["issue_id"])
        assert tracker(store).forget(first.loc[0, "issue_id"]) and not tracker(store).forget("nope")
        tracker(store).catch_up(backfill=True)
        assert set(tracker(store).log()["issue_id"]) == set(later["issue_id"])


def test_a_quiet_store_logs_nothing_and_too_little_history_keeps_its_note(tmp_path):
    path = write_store(tmp_path / "s.duckdb", stream(burst_from=0, seed=4))
    with Store(path) as store:
        tracker(store).catch_up()
        assert tracker(store).log().empty
    short = stream(days=5, burst_topic=None)
    with Store(write_store(tmp_path / "short.duckdb", short)) as store:
        tracker(store).catch_up()
        assert store.get_meta("detection_note") == "emerging issues: not enough history to test (5 days; at least 14 needed)"
        assert store.get_meta(DETECTED_THROUGH) is None


def test_a_version_2_store_keeps_its_issues_as_ongoing_log_rows(tmp_path):
    path = str(tmp_path / "old.duckdb")
    from voxlens.core.store import MIGRATIONS

    con = duckdb.connect(path)
    for step in MIGRATIONS[:2]:
        con.execute(step)
    con.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    con.execute("INSERT INTO issues (issue_id, kind, topic_id, window_start, window_end, severity, evidence, "
                "detected_at, topic_ids) VALUES ('old', 'volume_spike', 2, DATE '2026-09-20', DATE '2026-09-26', "
                "4.0, ['x'], TIMESTAMP '2026-09-26 10:00', [2])")
    con.close()
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION == 3
        log = IssueTracker(store).log()
    assert log.loc[0, ["status", "peak_severity"]].tolist() == ["ongoing", 4.0]
    assert str(log.loc[0, "onset"])[:10] == "2026-09-20" and json.dumps(log.loc[0, "facets"]) == "{}"
