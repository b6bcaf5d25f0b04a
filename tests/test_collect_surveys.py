"""Survey tool exports in their real layouts: detection, question mapping, linked text items."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxlens.collectors.survey_formats import import_survey_export, read_survey_export
from voxlens.core.errors import InputError

SURVEYS = Path(__file__).parent / "fixtures" / "surveys"


@pytest.mark.parametrize("name, tool, fields", [
    ("qualtrics.csv", "qualtrics", {"external_id", "submitted_at", "customer_id", "lang", "nps", "csat", "ces", "text"}),
    ("surveymonkey.csv", "surveymonkey", {"external_id", "submitted_at", "customer_id", "nps", "csat", "text"}),
    ("typeform.csv", "typeform", {"external_id", "submitted_at", "nps", "ces", "text"}),
    ("googleforms.csv", "googleforms", {"submitted_at", "nps", "text"}),
])
def test_each_tool_is_detected_and_its_questions_mapped(name, tool, fields):
    export = read_survey_export(SURVEYS / name)
    assert export.tool == tool
    assert set(export.mapping) == fields
    assert not any("mail" in column.lower() or "ip" == column.lower()[:2] for column in export.table.columns)


def test_qualtrics_skips_its_extra_header_rows_and_quarantines_previews(store):
    counts = import_survey_export(store, SURVEYS / "qualtrics.csv")
    assert (counts.read, counts.new, counts.quarantined) == (3, 2, 1)
    responses = store.query("SELECT external_id, nps, csat, ces, ces_scale, customer_id, meta FROM responses "
                            "ORDER BY external_id")
    assert responses[["external_id", "nps", "csat", "ces", "ces_scale"]].values.tolist() == [
        ["R_1a2B3c4D5e6F7g8", 2, 2, 2, 7], ["R_2b3C4d5E6f7G8h9", 10, 5, 7, 7]]
    assert responses["customer_id"].str.startswith("a_").all()
    assert not responses["meta"].str.contains("jan@example.com|Kowalski|203.0.113").any()
    item = store.query("SELECT text, response_id, lang FROM items WHERE external_id = 'R_1a2B3c4D5e6F7g8'").iloc[0]
    assert item["text"] == "Payment failed twice after update 5.2" and item["response_id"] is not None
    reason = store.query("SELECT reason, location FROM quarantine").iloc[0]
    assert "Survey Preview" in reason["reason"] and reason["location"] == "qualtrics.csv:row 6"
    assert import_survey_export(store, SURVEYS / "qualtrics.csv").new == 0


def test_surveymonkey_labels_become_scores(store):
    import_survey_export(store, SURVEYS / "surveymonkey.csv")
    scores = store.query("SELECT external_id, nps, csat FROM responses ORDER BY external_id").values.tolist()
    assert scores == [["114227891234", 10, 4], ["114227891235", 3, 2]]


def test_typeform_and_google_forms_link_text_to_responses(store):
    import_survey_export(store, SURVEYS / "typeform.csv")
    counts = import_survey_export(store, SURVEYS / "googleforms.csv", source="survey-pl")
    assert counts.new == 2
    linked = store.query("SELECT i.text, r.nps FROM items i JOIN responses r USING (response_id) "
                         "WHERE r.source = 'survey-pl' ORDER BY r.nps")
    assert linked.values.tolist() == [["Płatność kartą nie działa od aktualizacji", 3], ["Szybka dostawa", 9]]
    ces = store.query("SELECT ces, ces_scale FROM responses WHERE external_id = 'a1b2c3d4e5f6g7h8i9j0'").iloc[0]
    assert ces.tolist() == [6, 7]
    second = store.query("SELECT coalesce(i.title, '') AS title, i.text FROM items i JOIN responses r USING (response_id) "
                         "WHERE r.external_id = 'b1b2c3d4e5f6g7h8i9j0' ORDER BY 1")
    assert second.values.tolist() == [["", "The app crashed when paying"],
                                      ["Anything else you would like to tell us?", "Please add BLIK payments"]]


def test_an_export_without_score_or_text_questions_says_how_to_map_it(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("Timestamp,Favourite colour\n2026/09/17 10:15:42,blue\n")
    with pytest.raises(InputError, match="--map nps=COLUMN"):
        read_survey_export(path)
