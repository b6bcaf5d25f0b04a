"""Real-world breakage in export files: every row is stored, quarantined with a reason, or skipped as a
duplicate, and a file that cannot be read at all fails with its file, line and column."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from voxlens.collectors import import_reviews, import_survey
from voxlens.collectors.files import decode_file
from voxlens.cli import main
from voxlens.core.errors import InputError
from tests.accounting import assert_every_row_accounted

BROKEN = Path(__file__).parent / "fixtures" / "broken"


def texts(store):
    return dict(store.execute("SELECT external_id, text FROM items"))


def reasons(store):
    return dict(store.execute("SELECT location, reason FROM quarantine"))


def test_excel_utf8_with_bom_and_crlf_keeps_emoji_and_the_first_column_name(store):
    counts = import_reviews(store, BROKEN / "excel_bom_crlf.csv")

    assert_every_row_accounted(store, counts, rows_in_file=2)
    assert texts(store) == {"1": "Świetna aplikacja 👍", "2": "Slow courier"}


def test_polish_excel_export_in_cp1250_with_semicolons_and_decimal_commas(store):
    counts = import_reviews(store, BROKEN / "polish_cp1250_semicolon.csv")

    assert_every_row_accounted(store, counts, rows_in_file=3)
    assert texts(store)["1"] == "Świetnie, dziękuję za szybką dostawę"
    assert texts(store)["3"] == "Żółw by szybciej dowiózł"
    assert store.execute("SELECT rating FROM items WHERE external_id = '3'") == [(1.5,)]


def test_latin1_french_export_is_not_misread_as_polish(store):
    counts = import_reviews(store, BROKEN / "latin1_french.csv")

    assert_every_row_accounted(store, counts, rows_in_file=2)
    assert texts(store)["1"] == "Très déçu, colis abîmé à la livraison"


@pytest.mark.parametrize("text, encoding, expected", [
    ("Świetnie, dziękuję", "cp1250", "cp1250"),
    ("Zażółć gęślą jaźń", "cp1250", "cp1250"),
    ("Très déçu, abîmé à la livraison", "latin-1", "latin-1"),
    ("Süß und schön", "latin-1", "cp1250"),  # reads the same in both encodings
    ("Doppelt geprüft ½ Preis", "latin-1", "latin-1"),
    ("Hello", "utf-8", "utf-8"),
])
def test_encoding_guess_reads_the_text_back_exactly(tmp_path, text, encoding, expected):
    path = tmp_path / "f.csv"
    path.write_bytes(f"text\n{text}\n".encode(encoding))
    assert decode_file(path) == (f"text\n{text}\n", expected)


def test_excel_unicode_text_utf16_with_tabs_keeps_right_to_left_scripts(store):
    counts = import_reviews(store, BROKEN / "excel_unicode_text.txt")

    assert_every_row_accounted(store, counts, rows_in_file=2)
    assert texts(store) == {"1": "منتج رائع", "2": "שירות מצוין"}


def test_mixed_line_endings_give_one_row_per_line(store):
    counts = import_reviews(store, BROKEN / "mixed_line_endings.csv")

    assert_every_row_accounted(store, counts, rows_in_file=4)
    assert texts(store) == {"1": "First", "2": "Second", "3": "Third", "4": "Fourth"}


def test_a_quote_that_never_closes_does_not_swallow_the_rows_after_it(store):
    counts = import_reviews(store, BROKEN / "broken_quoting.csv")

    assert_every_row_accounted(store, counts, rows_in_file=5)
    assert texts(store) == {"1": "Fine", "4": "Still read", "5": 'Properly "quoted", fine'}
    quarantined = store.query("SELECT location, raw, reason FROM quarantine ORDER BY location")
    assert quarantined["raw"].tolist() == ["2,Too, many, fields", '3,"Never closed']
    assert "line 3: malformed CSV row: 4 fields where the header has 2" in quarantined["reason"][0]
    assert "line 4: a quote opens and never closes" in quarantined["reason"][1]


def test_duplicate_and_empty_header_names_keep_every_value(store):
    counts = import_reviews(store, BROKEN / "duplicate_headers.csv")

    assert_every_row_accounted(store, counts, rows_in_file=2)
    meta = json.loads(store.execute("SELECT meta FROM items WHERE external_id = '1'")[0][0])
    assert texts(store)["1"] == "Main text"
    assert meta == {"text (2)": "Second text", "column 4": "x"}


def test_renamed_columns_of_an_app_store_export_are_found(store):
    counts = import_reviews(store, BROKEN / "renamed_columns.csv")

    assert_every_row_accounted(store, counts, rows_in_file=2)
    rows = store.query("SELECT external_id, rating, created_at, author FROM items ORDER BY external_id")
    assert rows["external_id"].tolist() == ["r1", "r2"]
    assert rows["rating"].tolist() == [5.0, 1.0]
    assert rows["author"].str.startswith("a_").all()


def test_out_of_range_and_garbage_scores_are_quarantined_with_the_column_and_the_rule(store):
    counts = import_survey(store, BROKEN / "survey_out_of_range.csv")

    assert_every_row_accounted(store, counts, rows_in_file=15)
    assert (counts.new, counts.quarantined, counts.duplicates) == (2, 12, 1)
    by_line = {loc.split("(line ")[1].rstrip(")"): reason for loc, reason in reasons(store).items()}
    assert by_line["3"] == "nps '11' is outside 0–10: NPS answers are 0–10"
    assert by_line["4"] == "nps '-1' is outside 0–10: NPS answers are 0–10"
    assert by_line["5"] == "csat '0' is outside 1–5: CSAT answers are 1–5"
    assert by_line["6"] == "csat '6' is outside 1–5: CSAT answers are 1–5"
    assert by_line["7"] == "nps 'ten' is not a number: NPS answers are 0–10"
    assert by_line["8"] == "nps 'nan' is not a whole number: NPS answers are 0–10"
    assert by_line["9"] == "nps '1e309' is not a whole number: NPS answers are 0–10"
    assert by_line["10"] == "nps '7.5' is not a whole number: NPS answers are 0–10"
    assert "'31/02/2026' is not a date" in by_line["11"]
    assert "'2999-01-01' is in the future" in by_line["12"]
    assert "duplicate id 's12' with different content (first seen at survey_out_of_range.csv:row 12 (line 13))" \
        == by_line["14"]
    assert by_line["16"] == "the response has no score and no text"


def test_hostile_jsonl_html_emoji_rtl_surrogates_and_broken_lines(store):
    counts = import_reviews(store, BROKEN / "hostile.jsonl")

    assert_every_row_accounted(store, counts, rows_in_file=9)
    stored = texts(store)
    assert stored["h1"] == "<script>alert('x')</script> app crashes"  # stored as text; escaped in reports
    assert "😡🔥" in stored["h2"]
    assert stored["h3"] == "التطبيق لا يعمل \u2028 second line"  # U+2028 inside a string is not a line break
    assert stored["h4"] == "broken surrogate \ufffd here"
    assert stored["h7"] == "dup key first"
    assert store.execute("SELECT url FROM items WHERE external_id = 'h1'") == [(None,)]  # javascript: dropped
    assert set(reasons(store)) == {f"hostile.jsonl:line {n}" for n in (5, 6, 7, 9)}
    assert "line 9: invalid JSON (Unterminated string" in reasons(store)["hostile.jsonl:line 9"]


def test_a_json_array_export_is_read_and_a_stray_element_quarantined(store):
    counts = import_reviews(store, BROKEN / "export.json")

    assert_every_row_accounted(store, counts, rows_in_file=3)
    assert reasons(store) == {"export.json:item 3": "item 3: an element of the array must be an object {...}"}


@pytest.mark.parametrize("name, message", [
    ("broken_array.json", r"broken_array\.json: line 3, column 27: not valid JSON"),
    ("spreadsheet.csv", r"spreadsheet\.csv: line 1, column 1: this is an Excel workbook or a zip archive"),
])
def test_wrong_format_fails_with_file_line_and_column_and_stores_nothing(store, name, message):
    with pytest.raises(InputError, match=message):
        import_reviews(store, BROKEN / name)
    assert store.count("items") == store.count("quarantine") == 0


def test_binary_data_without_a_known_signature_names_the_first_nul_byte(store, tmp_path):
    path = tmp_path / "dump.csv"
    path.write_bytes(b"id,text\n1,ab\x00\x00\x00\xc7\x00\xff\x00\x00\x93\x00 and more bytes")
    with pytest.raises(InputError, match=r"dump\.csv: line 2, column 5: binary data"):
        import_reviews(store, path)


def test_a_stray_nul_byte_in_a_text_export_is_dropped(store, tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(b"id,text\n1,Fine\x00 app\n")
    counts = import_reviews(store, path)
    assert_every_row_accounted(store, counts, rows_in_file=1)
    assert texts(store) == {"1": "Fine app"}


def test_wrong_format_on_the_command_line_is_one_clear_line_without_a_traceback(tmp_path):
    db = str(tmp_path / "s.duckdb")
    results = [CliRunner().invoke(main, ["import", "reviews", str(BROKEN / name), "--db", db])
               for name in ("broken_array.json", "spreadsheet.csv")]
    results.append(CliRunner().invoke(main, ["import", "survey", str(BROKEN / "renamed_columns.csv"), "--db", db]))
    for result in results:
        assert result.exit_code == 2
        assert "Traceback" not in result.output
        assert result.output.startswith("error: ") and "line" in result.output
        assert ".json" in result.output or ".csv" in result.output


def test_missing_text_column_names_the_header_line_and_the_columns(store, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("id,stars\n1,5\n")
    with pytest.raises(InputError, match=r"r\.csv: line 1 \(header\): no 'text' column.*columns are: id, stars"):
        import_reviews(store, path)


def test_a_one_megabyte_review_is_quarantined_whole_and_the_next_row_still_imports(store, tmp_path):
    huge = "x" * 1_000_000
    path = tmp_path / "big.csv"
    path.write_text(f"id,text\n1,{huge}\n2,Normal review\n")
    counts = import_reviews(store, path)

    assert_every_row_accounted(store, counts, rows_in_file=2)
    assert texts(store) == {"2": "Normal review"}
    raw, reason = store.execute("SELECT raw, reason FROM quarantine")[0]
    assert huge in raw
    assert "'text' has 1,000,000 characters, more than the 100,000" in reason


def test_whitespace_only_and_empty_text_are_quarantined_blank_lines_are_not_rows(store, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("id,text\n1,   \n2,\n\n   \n3,\t\n4,ok\n,\n")
    counts = import_reviews(store, path)

    assert_every_row_accounted(store, counts, rows_in_file=4)
    assert counts.quarantined == 3 and texts(store) == {"4": "ok"}


def test_a_value_no_rule_foresaw_is_quarantined_and_the_run_goes_on(store):
    from voxlens.collectors.base import ITEMS, Ingest
    from voxlens.collectors.files import RawRecord
    from voxlens.collectors.reviews import item_row

    def normalise(record):
        if record.data["text"] == "odd":
            int("not-a-number-from-a-plugin")
        return [item_row(source="api", external_id=record.data["id"], text=record.data["text"], salt="s")]

    records = [RawRecord(f"api:item {n}", {"id": str(n), "text": t}, {"id": str(n), "text": t})
               for n, t in enumerate(["fine", "odd", "also fine"])]
    counts = Ingest(store, "api").run([(ITEMS, records, normalise)])

    assert_every_row_accounted(store, counts, rows_in_file=3)
    assert store.execute("SELECT location, reason FROM quarantine") == [
        ("api:item 1", "unreadable value (ValueError: invalid literal for int() with base 10: "
                       "'not-a-number-from-a-plugin'); fix the row and import again")]


def test_a_json_array_saved_as_jsonl_is_read_as_an_array(store, tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text('[\n  {"id": "a", "text": "Pretty printed"},\n  {"id": "b", "text": "export"}\n]\n')
    counts = import_reviews(store, path)

    assert_every_row_accounted(store, counts, rows_in_file=2)
    assert texts(store) == {"a": "Pretty printed", "b": "export"}
