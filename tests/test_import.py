"""File importers: auto-detected columns, quarantine with reasons, idempotent re-imports."""

import json

import pandas as pd
import pytest

from voxlens.collectors import import_reviews, import_survey
from voxlens.core.errors import InputError

REVIEWS = """review_id,Review Body,Stars,Date,reviewer,device
r1,Courier was lovely and on time,5,2026-03-01T10:00:00Z,anna,ios
r2,Parcel arrived damaged,1,2026-03-02,bob,android
r3,,3,2026-03-02,carl,ios
r4,Locker code did not work,two,2026-03-03,dora,ios
r5,Tracking map is wrong,2,not a date,emil,ios
r6,Great app,5,2999-01-01,fred,ios
r7,Great app,9,2026-03-04,gina,ios
r8,Nice,nan,2026-03-04,hugo,ios
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def quarantine(store):
    return store.query("SELECT location, raw, reason FROM quarantine ORDER BY location")


def test_reviews_import_detects_columns_and_quarantines_each_bad_row_with_its_reason(store, tmp_path):
    counts = import_reviews(store, write(tmp_path, "reviews.csv", REVIEWS))

    assert (counts.read, counts.new, counts.quarantined, counts.duplicates) == (8, 2, 6, 0)
    assert counts.balanced
    items = store.query("SELECT external_id, text, rating, author, meta FROM items ORDER BY external_id")
    assert items["external_id"].tolist() == ["r1", "r2"]
    assert items["rating"].tolist() == [5.0, 1.0]
    assert not items["author"].str.contains("anna|bob").any()  # hashed, not stored in clear
    assert json.loads(items["meta"][0]) == {"device": "ios"}
    reasons = dict(zip(quarantine(store)["location"], quarantine(store)["reason"]))
    assert "a review needs text" in reasons["reviews.csv:row 3 (line 4)"]
    assert "'two' is not a number" in reasons["reviews.csv:row 4 (line 5)"]
    assert "'not a date' is not a date" in reasons["reviews.csv:row 5 (line 6)"]
    assert "in the future" in reasons["reviews.csv:row 6 (line 7)"]
    assert "outside 0–5" in reasons["reviews.csv:row 7 (line 8)"]
    assert "'nan' is not a number" in reasons["reviews.csv:row 8 (line 9)"]
    assert all("Locker code" in raw for raw in quarantine(store)["raw"] if "two" in raw)


def test_reimporting_the_same_file_adds_nothing(store, tmp_path):
    path = write(tmp_path, "reviews.csv", REVIEWS)
    import_reviews(store, path)
    again = import_reviews(store, path)

    assert (again.read, again.new, again.updated, again.duplicates) == (8, 0, 0, 2)
    assert again.balanced
    assert store.count("items") == 2


def test_an_edited_review_updates_in_place_and_drops_its_stale_scores(store, tmp_path):
    import_reviews(store, write(tmp_path, "r.csv", "id,text\n1,Slow delivery\n"))
    store.execute("INSERT INTO scores SELECT item_id, 'm', 'negative', -0.9, 0.9, 0.1, 0, now() FROM items")
    counts = import_reviews(store, write(tmp_path, "r.csv", 'id,text\n1,"Slow delivery, but support fixed it"\n'))

    assert (counts.new, counts.updated) == (0, 1)
    assert store.query("SELECT text FROM items")["text"].tolist() == ["Slow delivery, but support fixed it"]
    assert store.count("scores") == 0


def test_rows_without_an_id_are_deduplicated_by_content(store, tmp_path):
    path = write(tmp_path, "posts.csv", "text,author\nLove it,x\nLove it,x\nLove it,y\n")
    counts = import_reviews(store, path)

    assert (counts.new, counts.duplicates) == (2, 1)
    assert import_reviews(store, path).new == 0


def test_a_duplicate_id_with_different_content_in_one_file_is_quarantined(store, tmp_path):
    counts = import_reviews(store, write(tmp_path, "r.csv", "id,text\n7,First version\n7,Other text\n"))

    assert (counts.new, counts.quarantined) == (1, 1)
    assert "duplicate id '7'" in quarantine(store)["reason"][0]
    assert "r.csv:row 1 (line 2)" in quarantine(store)["reason"][0]


def test_explicit_mapping_wins_and_unknown_columns_are_reported(store, tmp_path):
    path = write(tmp_path, "r.csv", "Comment,Notes\nGood courier,internal\n")
    import_reviews(store, path, mapping={"text": "Notes"})
    assert store.query("SELECT text FROM items")["text"].tolist() == ["internal"]

    with pytest.raises(InputError, match="'Missing' .* columns are: Comment, Notes"):
        import_reviews(store, path, mapping={"text": "Missing"})


def test_a_file_without_a_text_column_fails_with_a_message_that_says_what_to_do(store, tmp_path):
    with pytest.raises(InputError, match=r"no 'text' column found.*--map text=COLUMN"):
        import_reviews(store, write(tmp_path, "r.csv", "id,stars\n1,5\n"))


def test_a_ragged_csv_row_is_quarantined_whole_not_truncated(store, tmp_path):
    path = write(tmp_path, "r.csv", "id,text\n1,Slow delivery, but support fixed it\n2,Fine\n\n3,\"multi\nline\"\n")
    counts = import_reviews(store, path)

    assert (counts.read, counts.new, counts.quarantined) == (3, 2, 1)
    row = quarantine(store).iloc[0]
    assert row["location"] == "r.csv:row 1 (line 2)"
    assert row["raw"] == "1,Slow delivery, but support fixed it"
    assert "3 fields where the header has 2" in row["reason"]
    assert store.query("SELECT text FROM items WHERE external_id = '3'")["text"][0] == "multi\nline"


def test_jsonl_bad_lines_are_quarantined_with_their_line_number(store, tmp_path):
    path = write(tmp_path, "posts.jsonl", '{"id": "a", "text": "Fine"}\n{broken\n[1, 2]\n\n{"id": "b", "text": "Good"}\n')
    counts = import_reviews(store, path, source="reddit")

    assert (counts.read, counts.new, counts.quarantined) == (4, 2, 2)
    rows = quarantine(store)
    assert rows["location"].tolist() == ["posts.jsonl:line 2", "posts.jsonl:line 3"]
    assert rows["raw"][0] == "{broken"
    assert "invalid JSON" in rows["reason"][0]


def test_polish_cp1250_export_is_read_correctly(store, tmp_path):
    path = tmp_path / "pl.csv"
    path.write_bytes('id,tekst\n1,"Paczka przyszła uszkodzona, źle zapakowana"\n'.encode("cp1250"))
    import_reviews(store, path, mapping={"text": "tekst"})
    assert store.query("SELECT text FROM items")["text"][0] == "Paczka przyszła uszkodzona, źle zapakowana"


SURVEY = """response_id,submitted_at,nps,csat,ces,comment,plan
s1,2026-03-01,10,5,7,Fast delivery,free
s2,2026-03-01,6,3,4,,plus
s3,2026-03-02,11,4,5,Nice,free
s4,2026-03-02,8,0,5,OK,free
s5,2026-03-03,,,,,free
s6,2026-03-03,9,5,8,Smooth,free
s7,2026-03-03,inf,,,Odd,free
"""


def test_survey_import_validates_scales_and_links_free_text_to_responses(store, tmp_path):
    counts = import_survey(store, write(tmp_path, "survey.csv", SURVEY))

    assert (counts.read, counts.new, counts.quarantined) == (7, 2, 5)
    responses = store.query("SELECT response_id, external_id, nps, csat, ces, segment FROM responses ORDER BY external_id")
    assert responses["external_id"].tolist() == ["s1", "s2"]
    assert responses["segment"].tolist() == ["free", "plus"]
    items = store.query("SELECT text, response_id, source FROM items")
    assert items["text"].tolist() == ["Fast delivery"]
    assert items["response_id"][0] == responses["response_id"][0]
    reasons = " | ".join(quarantine(store)["reason"])
    assert "NPS answers are 0–10" in reasons
    assert "CSAT answers are 1–5" in reasons
    assert "CES answers are 1–7" in reasons
    assert "no score and no text" in reasons


def test_survey_reimport_adds_nothing_and_ces_scale_is_configurable(store, tmp_path):
    path = write(tmp_path, "survey.csv", "id,ces,text\n1,5,Easy\n2,6,Hard\n")
    first = import_survey(store, path, ces_scale=5)
    assert (first.new, first.quarantined) == (1, 1)
    again = import_survey(store, path, ces_scale=5)
    assert (again.new, again.duplicates, again.quarantined) == (0, 1, 1)
    assert store.count("items") == 1


def test_every_import_is_recorded_as_a_run(store, tmp_path):
    import_reviews(store, write(tmp_path, "reviews.csv", REVIEWS))
    runs = store.query("SELECT collector, channel, status, rows_read, rows_new, rows_quarantined FROM runs")
    assert runs.to_dict("records") == [{"collector": "import-reviews", "channel": "reviews", "status": "ok",
                                        "rows_read": 8, "rows_new": 2, "rows_quarantined": 6}]


def test_quarantine_command_lists_each_bad_row_once_with_the_runs_that_saw_it(tmp_path):
    from click.testing import CliRunner

    from voxlens.cli import main

    db = str(tmp_path / "q.duckdb")
    path = write(tmp_path, "posts.jsonl", '{"id": "a", "text": "Fine"}\n=1+1\n[1, 2]\n')
    runner = CliRunner()
    for _ in range(2):
        assert runner.invoke(main, ["import", "reviews", str(path), "--db", db]).exit_code == 0

    listed = runner.invoke(main, ["quarantine", "--db", db, "--csv", str(tmp_path / "q.csv")])

    assert listed.exit_code == 0, listed.output
    assert "2 quarantined rows written to" in listed.output and "invalid JSON" in listed.output
    exported = pd.read_csv(tmp_path / "q.csv").sort_values("location")
    assert exported["location"].tolist() == ["posts.jsonl:line 2", "posts.jsonl:line 3"]
    assert exported["runs"].tolist() == [2, 2]
    assert exported["raw"].tolist() == ["'=1+1", "[1, 2]"]  # a spreadsheet shows the formula, never runs it
    assert "1 more (--limit" in runner.invoke(main, ["quarantine", "--db", db, "--limit", "1"]).output
    assert "nothing is quarantined for source 'reddit'" in runner.invoke(
        main, ["quarantine", "--db", db, "--source", "reddit"]).output
