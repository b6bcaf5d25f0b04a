"""The whole flow on a small fixture: import → analyze → detect → issues JSON → reports."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from voxlens.cli import main
from voxlens.sample.build import build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory):
    """The last 45 days of the bundled sample's reviews and survey (planted issue from 2026-09-17)."""
    folder = tmp_path_factory.mktemp("sample")
    data = build()
    reviews = data["reviews"][data["reviews"]["date"] >= "2026-08-17"]
    survey = data["survey"][data["survey"]["submitted_at"] >= "2026-08-17"]
    reviews.to_csv(folder / "reviews.csv", index=False)
    survey.to_csv(folder / "survey.csv", index=False)
    return folder, len(reviews), len(survey)


@pytest.fixture(scope="module")
def analysed(sample_files, tmp_path_factory):
    folder, _, _ = sample_files
    db = str(tmp_path_factory.mktemp("db") / "flow.duckdb")
    runner = CliRunner()
    outputs = [runner.invoke(main, ["import", "reviews", str(folder / "reviews.csv"), "--db", db]),
               runner.invoke(main, ["import", "survey", str(folder / "survey.csv"), "--db", db]),
               runner.invoke(main, ["analyze", "--db", db])]
    return db, outputs


def test_imports_print_their_counts(analysed, sample_files):
    _, n_reviews, n_survey = sample_files
    _, (reviews, survey, _) = analysed
    assert reviews.exit_code == 0, reviews.output
    assert f"rows read {n_reviews}: stored {n_reviews} ({n_reviews} new, 0 updated), quarantined 0" in reviews.output
    assert f"rows read {n_survey}: stored {n_survey}" in survey.output


def test_analyze_scores_every_item_and_flags_the_planted_issue_first(analysed):
    db, (_, _, analyze) = analysed
    assert analyze.exit_code == 0, analyze.output
    result = CliRunner().invoke(main, ["issues", "--db", db, "--json"])
    issues = json.loads(result.output)

    assert issues, "the planted payment issue should be flagged"
    top = issues[0]
    assert set(top) >= {"kind", "topic", "start", "end", "severity", "evidence"}
    assert set(top["topic"]) >= {"id", "label", "keywords"}
    assert any(word in " ".join(top["topic"]["keywords"]).lower() for word in ("payment", "checkout", "płatność"))
    assert "2026-09-15" <= top["start"] <= "2026-09-19" and top["end"] == "2026-09-30"
    assert [i["severity"] for i in issues] == sorted((i["severity"] for i in issues), reverse=True)
    assert all(set(e) >= {"external_id", "text"} for e in top["evidence"])
    assert sum("ayment" in e["text"] or "łatnoś" in e["text"] for e in top["evidence"]) >= 4


def test_fp32_analysis_stores_its_own_scores_and_flags_the_same_issue(sample_files, tmp_path):
    from voxlens.core.store import Store

    folder, n_reviews, n_survey = sample_files
    db = str(tmp_path / "fp32.duckdb")
    runner = CliRunner()
    runner.invoke(main, ["import", "reviews", str(folder / "reviews.csv"), "--db", db])
    result = runner.invoke(main, ["analyze", "--db", db, "--fp32"])
    assert result.exit_code == 0, result.output
    with Store(db, read_only=True) as store:
        models = store.query("SELECT DISTINCT model FROM scores")["model"].tolist()
    assert len(models) == 1 and "+int8" not in models[0]        # int8 is the default; fp32 scores apart
    top = json.loads(runner.invoke(main, ["issues", "--db", db, "--json"]).output)[0]
    assert any(word in " ".join(top["topic"]["keywords"]).lower() for word in ("payment", "checkout", "płatność"))


def test_a_second_analyze_has_nothing_left_to_do(analysed):
    db, _ = analysed
    result = CliRunner().invoke(main, ["analyze", "--db", db])
    assert result.exit_code == 0
    assert "sentiment scored 0, topics assigned 0" in result.output


def external_resources(html: str) -> list[str]:
    """src/href attributes of real tags that load something (script bodies are not parsed as tags)."""
    from html.parser import HTMLParser

    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            for name, value in attrs:
                if name == "src" or (name == "href" and tag == "link"):
                    found.append(f"{tag} {name}={value}")

    Parser().feed(html)
    return found


def test_reports_in_every_format(analysed, tmp_path):
    db, _ = analysed
    runner = CliRunner()
    for fmt in ("html", "md", "csv", "json"):
        out = tmp_path / f"report.{fmt}"
        result = runner.invoke(main, ["report", "--db", db, "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    html = (tmp_path / "report.html").read_text()
    assert external_resources(html) == []  # self-contained: opens offline
    assert html.index('id="issue-1"') < html.index('id="trend"')
    csv = pd.read_csv(tmp_path / "report.csv")
    assert csv.columns.tolist()[:7] == ["issue_id", "kind", "topic_id", "topic_label", "topic_keywords", "start", "end"]
    payload = json.loads((tmp_path / "report.json").read_text())
    assert set(payload) >= {"issues", "topics", "metrics", "period"}
    assert set(payload["metrics"]["current"]) == {"nps", "csat", "ces"}
    assert "# voxlens issue report" in (tmp_path / "report.md").read_text()


def test_errors_are_one_clear_line_with_exit_code_2(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(main, ["issues", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "no store at" in missing.output
    bad = tmp_path / "bad.csv"
    bad.write_text("id,stars\n1,5\n")
    result = runner.invoke(main, ["import", "reviews", str(bad), "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 2
    assert "no 'text' column found" in result.output and "Traceback" not in result.output
    empty = runner.invoke(main, ["analyze", "--db", str(tmp_path / "s.duckdb")])
    assert empty.exit_code == 2 and "has no items" in empty.output


def test_the_console_script_runs_with_help_examples():
    result = subprocess.run([sys.executable, "-m", "voxlens", "import", "reviews", "--help"],
                            capture_output=True, text=True, check=True)
    assert "Examples:\n    voxlens import reviews" in result.stdout


def test_detect_gives_the_scan_the_stored_vectors_of_the_current_encoder(analysed, tmp_path):
    import shutil

    from voxlens.pipeline import Pipeline
    from voxlens.core.store import Store

    db, _ = analysed
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    with Store(copy) as store:
        stale = {r[0] for r in store.execute("SELECT item_id FROM topics ORDER BY item_id LIMIT 3")}
        store.execute("UPDATE topics SET vector = [1.0, 2.0] WHERE list_contains(?, item_id)",
                      [sorted(stale)])                                         # left by an earlier encoder
        pipeline = Pipeline(store, progress=False)
        seen = {}
        detect = pipeline.detector.detect

        def spy(items, **kwargs):
            seen.update(items=items, embeddings=kwargs["embeddings"])
            return detect(items, **kwargs)

        pipeline.detector.detect = spy
        issues = pipeline.detect()

    items, vectors = seen["items"], seen["embeddings"]
    has_vector = np.isfinite(vectors).all(axis=1)
    assert vectors.shape == (len(items), 384)                  # one row per item, NaN for a stale vector
    assert set(items.loc[~has_vector, "item_id"]) == stale & set(items["item_id"])
    assert has_vector.sum() > len(items) / 2
    assert len(issues) and "topic_ids" in issues
