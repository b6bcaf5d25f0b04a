"""Personal data: authors hashed with a per-store salt, ``--redact`` removes e-mails and phone numbers,
``voxlens forget`` erases a person from every table."""

import json
from hashlib import md5

import pandas as pd
import pytest
from click.testing import CliRunner

from voxlens.collectors import import_reviews, import_survey
from voxlens.cli import main
from voxlens.core.ids import hash_author
from voxlens.core.privacy import forget, redact_text
from voxlens.score_cache import ScoreCache
from voxlens.core.store import TABLES, Store


@pytest.mark.parametrize("text, expected", [
    ("Call me on +48 512 345 678 please", "Call me on [phone] please"),
    ("tel. 512-345-678", "tel. [phone]"),
    ("numer 512345678.", "numer [phone]."),
    ("biuro (22) 123 45 67", "biuro [phone]"),
    ("0048 22 123 45 67", "[phone]"),
    ("US support +1 (555) 123-4567", "US support [phone]"),
    ("London +44 20 7946 0958", "London [phone]"),
    ("Berlin +49 30 123456", "Berlin [phone]"),
    ("write to jan.kowalski@example.pl!", "write to [email]!"),
    ("a+tag@mail.co.uk, ZOFIA.Nowak@Firma.COM.PL", "[email], [email]"),
])
def test_redact_replaces_phone_numbers_and_emails(text, expected):
    assert redact_text(text) == expected


@pytest.mark.parametrize("text", [
    "Delivered 2026-03-01 at 12:30", "2026-09-17 10:15:00", "17.09.2026", "update 5.2.1 broke it",
    "paid 1 500 zł for 3 parcels", "rated 10/10", "version 10.2.3", "",
])
def test_redact_leaves_dates_versions_and_amounts_alone(text):
    assert redact_text(text) == text


def test_authors_are_hashed_with_a_salt_of_their_own_store(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("id,text,author\n1,Fine,anna.k\n")
    authors = []
    for name in ("a", "b"):
        with Store(tmp_path / f"{name}.duckdb") as store:
            import_reviews(store, path)
            authors.append(store.execute("SELECT author FROM items")[0][0])
            assert authors[-1] == hash_author("anna.k", store.author_salt)
    assert authors[0] != authors[1] and "anna" not in "".join(authors)


CONTACT = "id,text,title,author,contact\n1,Call +48 512 345 678 or anna@example.pl,Mail jan@firma.pl,anna,+48 600 100 200\n" \
          "2,,Reach me at 512 345 678,bob,bob@example.com\n"


def test_import_with_redact_keeps_no_email_or_phone_anywhere_in_the_store(store, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(CONTACT)
    counts = import_reviews(store, path, redact=True)

    assert (counts.new, counts.quarantined) == (1, 1)
    row = store.query("SELECT text, title, meta FROM items").iloc[0]
    assert (row["text"], row["title"]) == ("Call [phone] or [email]", "Mail [email]")
    assert json.loads(row["meta"]) == {"contact": "[phone]"}
    assert "Reach me at [phone]" in store.execute("SELECT raw FROM quarantine")[0][0]
    dump = everything(store)
    for secret in ("512 345 678", "anna@example.pl", "jan@firma.pl", "600 100 200", "bob@example.com"):
        assert secret not in dump


def test_survey_and_cli_redact_free_text(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("id,nps,comment\n1,3,Oddzwońcie: 600-700-800\n")
    db = str(tmp_path / "s.duckdb")
    result = CliRunner().invoke(main, ["import", "survey", str(path), "--db", db, "--redact"])

    assert result.exit_code == 0, result.output
    with Store(db) as store:
        assert store.execute("SELECT text FROM items") == [("Oddzwońcie: [phone]",)]


def test_without_redact_text_is_stored_as_written(store, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(CONTACT)
    import_reviews(store, path)
    assert store.execute("SELECT text FROM items")[0][0] == "Call +48 512 345 678 or anna@example.pl"


def everything(store):
    return "\n".join(store.query(f"SELECT * FROM {table}").to_csv() for table in TABLES)


@pytest.fixture
def two_people(store, tmp_path):
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("id,text,author,created_at\n1,Anna's parcel was late,anna,2026-09-01\n"
                       "2,Anna again: wrong locker,anna,2026-09-02\n3,Bob likes the app,bob,2026-09-02\n"
                       "4,Broken row from anna,anna,not a date\n")
    survey = tmp_path / "survey.csv"
    survey.write_text("id,customer_id,nps,comment\ns1,anna,2,Refund took weeks\ns2,bob,9,Quick\n")
    import_reviews(store, reviews)
    import_survey(store, survey)
    store.execute("INSERT INTO scores SELECT item_id, 'm', 'negative', -0.5, 0.6, 0.2, 0.2, now() FROM items")
    store.execute("INSERT INTO topics SELECT item_id, 0, 1.0, [0.1, 0.2] FROM items")
    ScoreCache(store).add(pd.DataFrame({"label": "negative", "score": -0.5, "p_negative": 0.6, "p_neutral": 0.2,
                                        "p_positive": 0.2}, index=[r[0] for r in store.execute(
                                            "SELECT md5(text) FROM items")]), "m")
    store.execute("INSERT INTO topic_info VALUES (0, 'delivery', ['late'], NULL, 5, NULL)")
    ids = [r[0] for r in store.execute("SELECT item_id FROM items ORDER BY external_id")]
    store.execute("INSERT INTO issues (issue_id, kind, topic_id, window_start, window_end, severity, statistic, "
                  "p_value, q_value, summary, evidence, detected_at, topic_ids) VALUES ("
                  "'i1', 'volume_spike', 0, DATE '2026-09-01', DATE '2026-09-07', "
                  "3.0, 2.0, 0.01, 0.02, 'more delivery complaints', ?, now(), [0])", [ids])
    return store


def test_forget_erases_a_person_from_every_table_and_leaves_others(two_people):
    store = two_people
    anna = hash_author("anna", store.author_salt)
    deleted = forget(store, "anna")

    assert deleted == {"scores": 3, "topics": 3, "items": 3, "score_cache": 3, "responses": 1, "issue_evidence": 1,
                       "quarantine": 1}
    dump = everything(store) + store.query("SELECT * FROM score_cache").to_csv()
    for trace in (anna, "Anna's parcel", "Anna again", "Refund took weeks", "Broken row from anna",
                  md5(b"Refund took weeks").hexdigest()):
        assert trace not in dump
    assert store.execute("SELECT count(*) FROM score_cache") == [(2,)]
    assert sorted(r[0] for r in store.execute("SELECT text FROM items")) == ["Bob likes the app", "Quick"]
    assert store.execute("SELECT count(*) FROM responses") == [(1,)]
    assert store.execute("SELECT len(evidence) FROM issues") == [(2,)]
    assert store.execute("SELECT size FROM topic_info") == [(2,)]
    assert store.execute("SELECT count(vector) FROM topics") == [(2,)]     # the embeddings went with the items
    assert forget(store, "anna") == {k: 0 for k in deleted}


def test_forget_keeps_a_cached_score_another_person_still_uses(store, tmp_path):
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("id,text,author\n1,Late again,anna\n2,Late again,bob\n")
    import_reviews(store, reviews)
    ScoreCache(store).add(pd.DataFrame({"label": "negative", "score": -0.7, "p_negative": 0.8, "p_neutral": 0.1,
                                        "p_positive": 0.1}, index=[md5(b"Late again").hexdigest()]), "m")

    assert forget(store, "anna")["score_cache"] == 0
    assert store.execute("SELECT count(*) FROM score_cache") == [(1,)]
    assert forget(store, "bob")["score_cache"] == 1


def test_forget_on_the_command_line(two_people, tmp_path):
    db = two_people.path
    two_people.close()
    result = CliRunner().invoke(main, ["forget", "--author", "anna", "--author", "nobody", "--db", db])

    assert result.exit_code == 0, result.output
    assert ("forgot 'anna': rows deleted: scores 3, topics 3, items 3, score_cache 3, responses 1, issue_evidence 1, "
            "quarantine 1") \
        in result.output
    assert "forgot 'nobody': rows deleted: scores 0" in result.output
    with Store(db) as store:
        assert store.count("items") == 2
