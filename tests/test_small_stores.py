"""A first try with a small or odd export never crashes: import, analyze, issues and every report format
exit 0 on any store shape, and where there is too little to test, they say so."""

from __future__ import annotations

import csv
import json
import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from voxlens.metrics.emerging import IssueDetector
from voxlens.metrics.emerging_scan import scan_similar
from voxlens.cli import main

REPORT_FORMATS = ("html", "md", "csv", "json")
IMPORTED = re.compile(r"rows read (\d+): stored (\d+) \((\d+) new, (\d+) updated\), quarantined (\d+), "
                      r"duplicates skipped (\d+)")
ENGLISH = ["The courier came two days late again", "App crashes every time I open the basket",
           "Refund still not processed after three weeks", "Great support, solved in five minutes",
           "Prices went up and the portions went down", "Login code never arrives by SMS"]
POLISH = ["Kurier spóźnił się dwa dni", "Aplikacja zawiesza się przy płatności", "Zwrot pieniędzy trwa za długo",
          "Świetna obsługa, dziękuję", "Paczka przyszła uszkodzona", "Nie mogę się zalogować do konta"]
EMOJI = ["😡😡😡", "👍", "🙂🙂", "💩", "🚚⏰", "❤️"]
START = date(2026, 3, 1)


def run(args: list[str], stdout_only: bool = False) -> str:
    """Run the CLI in-process; fail with its output unless it exits 0."""
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, f"voxlens {' '.join(args)} exited {result.exit_code}:\n{result.output}"
    return result.stdout if stdout_only else result.output


def write_reviews(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text", "rating", "date"])
        writer.writeheader()
        writer.writerows(rows)


def import_analyze_and_report(folder: Path, rows: list[dict]) -> dict[str, str]:
    """The path a new user takes: import, analyze, issues (plain and JSON), a report in every format."""
    path, db = folder / "reviews.csv", str(folder / "store.duckdb")
    write_reviews(path, rows)
    outputs = {"import": run(["import", "reviews", str(path), "--db", db])}
    read, stored, new, _, quarantined, duplicates = map(int, IMPORTED.search(outputs["import"]).groups())
    assert read == len(rows) == stored + quarantined + duplicates
    outputs["analyze"] = run(["analyze", "--db", db])
    outputs["issues"] = run(["issues", "--db", db])
    outputs["issues --json"] = run(["issues", "--db", db, "--json"], stdout_only=True)
    outputs["topics"] = run(["topics", "--db", db])
    outputs["drivers"] = run(["drivers", "--db", db])
    for fmt in REPORT_FORMATS:
        out = folder / f"report.{fmt}"
        run(["report", "--db", db, "--out", str(out)])
        assert out.stat().st_size > 0
        outputs[f"report.{fmt}"] = out.read_text(encoding="utf-8")
    return outputs


def test_24_reviews_on_one_day_analyze_and_say_there_is_too_little_history(tmp_path):
    rows = [{"id": i, "text": f"{ENGLISH[i % 6]} (order {i})", "rating": 1 + i % 5, "date": "2026-05-04"}
            for i in range(24)]

    outputs = import_analyze_and_report(tmp_path, rows)

    sentence = "emerging issues: not enough history to test (1 day; at least 14 needed)"
    assert sentence in outputs["analyze"]
    assert sentence in outputs["issues"]
    assert sentence in outputs["report.md"] and sentence in outputs["report.html"]
    assert json.loads(outputs["report.json"])["detection_note"] == sentence
    assert json.loads(outputs["issues --json"]) == []   # the note goes to stderr: stdout stays JSON


def test_enough_history_removes_the_note(tmp_path):
    rows = [{"id": i, "text": f"{ENGLISH[i % 6]} (order {i})", "rating": 1 + i % 5,
             "date": (START + timedelta(days=i % 20)).isoformat()} for i in range(120)]

    outputs = import_analyze_and_report(tmp_path, rows)

    assert "not enough history" not in outputs["analyze"] + outputs["issues"] + outputs["report.md"]
    assert json.loads(outputs["report.json"])["detection_note"] is None


texts = st.one_of(st.sampled_from(ENGLISH), st.sampled_from(POLISH), st.sampled_from(EMOJI),
                  st.tuples(st.sampled_from(ENGLISH + POLISH), st.integers(0, 10_000)).map(lambda t: f"{t[0]} #{t[1]}"))


@st.composite
def stores(draw) -> list[dict]:
    """Review exports of random shape: 1-300 items over 1-40 days, some days crowded, repeated texts, emoji-only
    and Polish texts, missing dates, all Polish or one repeated text."""
    count = draw(st.integers(1, 300))
    days = draw(st.integers(1, 40))
    shape = draw(st.sampled_from(["mixed", "polish only", "one text", "one day crowded"]))
    missing_dates = draw(st.sampled_from([0.0, 0.1, 1.0]))
    rows = []
    for i in range(count):
        if shape == "polish only":
            text = draw(st.sampled_from(POLISH))
        elif shape == "one text":
            text = ENGLISH[0]
        else:
            text = draw(texts)
        day = days - 1 if shape == "one day crowded" and i % 3 else draw(st.integers(0, days - 1))
        dated = draw(st.floats(0, 1)) >= missing_dates
        rows.append({"id": f"r{i}", "text": text, "rating": draw(st.integers(1, 5)),
                     "date": (START + timedelta(days=day)).isoformat() if dated else ""})
    return rows


@pytest.mark.slow
@settings(max_examples=12, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(rows=stores())
def test_any_small_store_goes_through_import_analyze_issues_and_every_report(tmp_path_factory, rows):
    outputs = import_analyze_and_report(tmp_path_factory.mktemp("store"), rows)

    assert isinstance(json.loads(outputs["issues --json"]), list)
    assert isinstance(json.loads(outputs["report.json"])["issues"], list)
    assert "issues flagged" in outputs["analyze"]


def days_of(counts: list[int]) -> pd.DataFrame:
    """Items on consecutive days from START, ``counts[d]`` on day d, in topic 0 and not negative."""
    return pd.DataFrame({"created_at": [pd.Timestamp(START) + pd.Timedelta(days=d) for d, n in enumerate(counts)
                                        for _ in range(n)], "topic_id": 0, "negative": False})


@pytest.mark.parametrize("counts, note", [
    ([1], "emerging issues: not enough history to test (1 day; at least 14 needed)"),
    ([3000], "emerging issues: not enough history to test (1 day; at least 14 needed)"),
    ([5] * 13, "emerging issues: not enough history to test (13 days; at least 14 needed)"),
    ([5] * 14, None),
])
def test_detector_says_when_history_is_too_short(counts, note):
    detector = IssueDetector()

    issues = detector.detect(days_of(counts))

    assert issues.empty and detector.note_ == note


def test_detector_says_when_every_item_is_an_outlier():
    detector = IssueDetector()

    issues = detector.detect(days_of([20] * 30).assign(topic_id=-1))

    assert issues.empty
    assert detector.note_ == "emerging issues: nothing to test (no item of the last 7 days belongs to a topic)"


def test_similar_items_scan_of_thousands_of_items_on_one_day_finds_nothing_and_does_not_fail():
    rng = np.random.default_rng(0)
    days = pd.Series([pd.Timestamp(START)] * 3000)

    found = scan_similar(rng.normal(size=(3000, 8)), days, word_sets=None)

    assert found == []    # shuffling days that are all alike cannot tell anything apart
