"""The English rated-review sets: each loader's parsing and rating → label mapping, on small fixtures written
for these tests (never the fetched data)."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from voxlens.models.review_data import (ENGLISH_EVALUATION_SETS, ENGLISH_REVIEW_SETS, ENGLISH_TRAINING_SETS,
                                        REVIEW_SETS, clean_text, label_counts, load_review_set, load_review_sets,
                                        parse_review_set, split_of)

FIXTURES = Path(__file__).parent / "fixtures" / "reviews"


def fixture_set(name: str, fixture: str):
    """The registered set ``name`` pointed at a fixture file (its sha256 recorded), and the fixture's bytes."""
    raw = (FIXTURES / fixture).read_bytes()
    return replace(REVIEW_SETS[name], sha256=hashlib.sha256(raw).hexdigest()), raw


def test_the_english_sets_are_registered_with_their_provenance_scale_domain_and_use():
    for name in ENGLISH_REVIEW_SETS:
        review_set = REVIEW_SETS[name]
        assert review_set.lang == "en"
        assert len(review_set.commit) == 40 and len(review_set.sha256) == 64 and review_set.licence
        assert review_set.scale in (5, 10) and review_set.domain and {"text", "rating"} <= set(review_set.columns)
        record = review_set.provenance()
        assert record["repository"] == review_set.repo and record["scale"] == review_set.scale
    # only sets whose publisher states a licence that allows training may train; the others are evaluation only
    assert {REVIEW_SETS[n].use for n in ENGLISH_TRAINING_SETS} == {"train"}
    assert all("CC0" in REVIEW_SETS[n].licence for n in ENGLISH_TRAINING_SETS)
    assert {REVIEW_SETS[n].use for n in ENGLISH_EVALUATION_SETS} == {"evaluation"}
    assert all(REVIEW_SETS[n].licence.startswith("none stated") for n in ENGLISH_EVALUATION_SETS)
    assert ENGLISH_REVIEW_SETS[:len(ENGLISH_TRAINING_SETS)] == ENGLISH_TRAINING_SETS
    assert len({REVIEW_SETS[n].domain for n in ENGLISH_REVIEW_SETS}) >= 5
    # the evaluation-only domains of before are never among the training sets
    assert not {"hotels", "drugs"} & {REVIEW_SETS[n].domain for n in ENGLISH_TRAINING_SETS}
    assert len({REVIEW_SETS[n].copy_name for n in REVIEW_SETS}) == len(REVIEW_SETS)


def test_fine_food_reviews_on_1_to_5_stars_lose_their_html_and_repeats():
    review_set, raw = fixture_set("fine_food", "fine_food.csv")
    frame = parse_review_set(review_set, raw)
    assert frame["text"].tolist()[:2] == [
        "These oat bars are chewy and not too sweet. My kids take them to school every day.",
        "The bag arrived torn open & the beans were stale. Would not order again."]
    assert frame["label"].tolist() == ["positive", "negative", "neutral", "negative", "positive"]
    assert frame["rating"].tolist() == [5.0, 1.0, 3.0, 2.0, 4.0]
    assert set(frame["domain"]) == {"food"} and set(frame["set"]) == {"fine_food"}
    # row 6 repeats row 1, row 7 has no rating, row 8 is too short: all counted, none silently lost
    assert frame.attrs["counts"] == {"rows": 8, "no_text_or_rating": 2, "repeated_text": 1, "over_max_rows": 0,
                                     "kept": 5}


def test_skytrax_scores_on_1_to_10_map_at_4_and_7():
    review_set, raw = fixture_set("airline", "skytrax_airline.csv")
    frame = parse_review_set(review_set, raw)
    assert frame["rating"].tolist() == [1.0, 5.0, 6.0, 9.0, 4.0, 7.0]
    assert frame["label"].tolist() == ["negative", "neutral", "neutral", "positive", "negative", "positive"]
    assert frame.attrs["counts"]["no_text_or_rating"] == 1          # the review whose overall rating is NA
    seats, _ = fixture_set("airline_seats", "skytrax_airline.csv")
    assert parse_review_set(seats, raw)["label"].tolist() == frame["label"].tolist()


def test_echo_reviews_are_read_without_their_titles_which_name_the_stars():
    review_set, raw = fixture_set("echo_2017", "Amazon_Echo_2_Reviews.csv")
    frame = parse_review_set(review_set, raw)
    assert not frame["text"].str.contains("Stars").any()
    assert frame["text"].iloc[0] == "Sound is thin but it understands me well"
    assert frame["label"].tolist() == ["neutral", "positive", "negative", "positive"]


def test_alexa_reviews_are_read_from_a_tab_separated_file_with_a_byte_order_mark():
    review_set, raw = fixture_set("alexa_2018", "amazon_alexa_reviews_2018.tsv")
    frame = parse_review_set(review_set, raw)
    assert frame["label"].tolist() == ["positive", "negative", "neutral", "positive"]
    assert frame.attrs["counts"]["no_text_or_rating"] == 1          # the empty review


def test_restaurant_reviews_with_half_stars_and_bytes_that_are_not_utf8():
    review_set, raw = fixture_set("restaurants", "zomato_hyderabad_restaurant_reviews.csv")
    frame = parse_review_set(review_set, raw)
    assert frame["rating"].tolist() == [5.0, 3.5, 1.5, 3.0, 2.5]
    assert frame["label"].tolist() == ["positive", "neutral", "negative", "neutral", "neutral"]
    assert frame["text"].iloc[1] == "Food was okay, nothing memorable the starters were cold"
    assert frame["text"].iloc[0].endswith("Loved it \U0001f60d")         # valid UTF-8 emoji are kept
    assert frame.attrs["counts"]["no_text_or_rating"] == 1               # the rating "Like" is not a number


def test_app_store_reviews_join_title_and_text_and_lose_the_crawlers_deletion_mark(tmp_path: Path):
    import pandas as pd

    rows = [{"date": "2021-12-30 22:27:47", "rating": 5, "title": "Great app", "content": "Meetings just work."},
            {"date": "2021-12-23 02:29:00", "rating": 1, "title": "Broken",
             "content": "（该条评论已经被删除）Messages arrive an hour late."},
            {"date": "2021-12-16 11:36:27", "rating": 3, "title": "Okay", "content": "Does the job, drains battery."},
            {"date": "2021-12-14 15:40:29", "rating": 2, "title": "", "content": "Keeps logging me out."},
            {"date": "2021-12-13 00:11:15", "rating": 4, "title": "Great app", "content": "Meetings just work."}]
    pd.DataFrame(rows).to_excel(tmp_path / "reviews.xlsx", index=False)
    raw = (tmp_path / "reviews.xlsx").read_bytes()
    frame = parse_review_set(REVIEW_SETS["app_store_teams"], raw)
    assert frame["text"].tolist() == ["Great app. Meetings just work.", "Broken. Messages arrive an hour late.",
                                      "Okay. Does the job, drains battery.", "Keeps logging me out."]
    assert frame["label"].tolist() == ["positive", "negative", "neutral", "negative"]
    assert set(frame["domain"]) == {"apps"}
    capped = parse_review_set(replace(REVIEW_SETS["app_store_chrome"], max_rows=2), raw)
    assert len(capped) == 2 and capped.attrs["counts"]["over_max_rows"] == 2
    assert set(capped["text"]) <= set(frame["text"])
    assert capped["text"].tolist() == parse_review_set(replace(REVIEW_SETS["app_store_chrome"], max_rows=2),
                                                       raw)["text"].tolist()


def test_the_full_clothing_set_is_read_from_its_zip_with_the_clothing_sets_texts(tmp_path: Path, monkeypatch):
    import io
    import zipfile

    import voxlens.models.review_data as review_data

    csv = (",Clothing ID,Age,Title,Review Text,Rating,Recommended IND\n"
           "0,767,33,,Absolutely wonderful  - silky and sexy,4,1\n"
           "1,1080,34,Runs small,Love the print but had to size up twice.,3,1\n"
           "2,1077,60,,,5,1\n"
           "3,1049,50,Cheap fabric,Pilled after one wash &amp; lost its shape.,1,0\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("womens-ecommerce-clothing-reviews/Womens Clothing E-Commerce Reviews.csv", csv)
    review_set = replace(REVIEW_SETS["clothing_full"], sha256=hashlib.sha256(buffer.getvalue()).hexdigest())
    (tmp_path / review_set.copy_name).write_bytes(buffer.getvalue())
    monkeypatch.setattr(review_data, "REVIEW_SETS", {**review_data.REVIEW_SETS, "clothing_full": review_set})
    frame = load_review_set("clothing_full", data_dir=tmp_path, cache=tmp_path / "cache")
    # stripped only, as the clothing set's texts are, so a review has the same text (and split) in both
    assert frame["text"].tolist() == ["Absolutely wonderful  - silky and sexy",
                                      "Runs small. Love the print but had to size up twice.",
                                      "Cheap fabric. Pilled after one wash &amp; lost its shape."]
    assert frame["label"].tolist() == ["positive", "neutral", "negative"]
    assert frame.attrs["counts"]["no_text_or_rating"] == 1


def test_a_missing_column_is_named_in_the_error():
    review_set, raw = fixture_set("alexa_2018", "fine_food.csv")
    from voxlens.core.errors import InputError

    with pytest.raises(InputError, match="verified_reviews"):
        parse_review_set(review_set, raw)


def test_sets_are_read_from_a_data_directory_joined_once_per_text_and_split_by_hash(tmp_path: Path, monkeypatch):
    import voxlens.models.review_data as review_data

    sets = {}
    for name, fixture in (("echo_2017", "Amazon_Echo_2_Reviews.csv"), ("alexa_2018", "amazon_alexa_reviews_2018.tsv"),
                          ("fine_food", "fine_food.csv")):
        review_set, _ = fixture_set(name, fixture)
        shutil.copy(FIXTURES / fixture, tmp_path / review_set.copy_name)
        sets[name] = review_set
    monkeypatch.setattr(review_data, "REVIEW_SETS", {**review_data.REVIEW_SETS, **sets})
    single = load_review_set("fine_food", data_dir=tmp_path, cache=tmp_path / "cache")
    assert len(single) == 5 and sets["fine_food"].copy_name == "amazon_fine_food_reviews_5000.csv"
    joined = load_review_sets(["echo_2017", "alexa_2018", "fine_food"], data_dir=tmp_path, cache=tmp_path / "cache")
    # "Great little speaker for the kitchen" is in both Echo files: kept once, from the first set
    assert (joined["text"] == "Great little speaker for the kitchen").sum() == 1
    assert len(joined) == 4 + 3 + 5
    assert joined["split"].tolist() == [split_of(t) for t in joined["text"]]
    assert set(joined["domain"]) == {"smart speakers", "food"}
    assert joined.groupby("set")["use"].first().to_dict() == {"echo_2017": "evaluation", "alexa_2018": "evaluation",
                                                                "fine_food": "train"}
    counts = label_counts(joined)
    totals = counts[counts["domain"] == "all"].set_index("use")
    assert totals.loc["train", "total"] == 5 and totals.loc["evaluation", "total"] == 7
    assert totals["neutral"].sum() == (joined["label"] == "neutral").sum()
    food = counts[counts["domain"] == "food"]
    assert food["total"].sum() == 5 and set(food["split"]) <= {"train", "validation", "test"}
    wrong = replace(sets["fine_food"], sha256="0" * 64)
    monkeypatch.setattr(review_data, "REVIEW_SETS", {**review_data.REVIEW_SETS, "fine_food": wrong})
    with pytest.raises(ValueError, match="sha256"):
        load_review_set("fine_food", data_dir=tmp_path, cache=tmp_path / "cache")


def test_clean_text_decodes_entities_and_line_breaks():
    assert clean_text("Good&#039;s <br/>value &quot;deal&quot;<BR />  ok") == "Good's value \"deal\" ok"


def test_polemo_sentence_files_keep_each_sentence_with_its_own_label_as_written():
    review_set = REVIEW_SETS["polemo_sentences_hotels_train"]
    raw = ('Pokój ( z widokiem ) był " super " , polecam ! __label__z_plus_m\n'
           "Śniadanie zimne . __label__z_minus_m\n"
           "Recepcja na parterze . __label__z_zero\n"
           "Ładnie , ale drogo . __label__z_amb\n"
           "a line with no label\n\n").encode()
    frame = parse_review_set(review_set, raw)
    assert frame["text"].tolist() == ['Pokój (z widokiem) był "super", polecam!', "Śniadanie zimne.",
                                      "Recepcja na parterze.", "Ładnie, ale drogo."]
    assert frame["label"].tolist() == ["positive", "negative", "neutral", "neutral"]
    assert frame.attrs["counts"]["rows"] == 5 and frame.attrs["counts"]["no_text_or_rating"] == 1   # counted, not lost
    assert review_set.lang == "pl" and len(review_set.commit) == 40 and len(review_set.sha256) == 64
    assert "non-commercial" in review_set.licence


def test_polish_sentences_train_only_on_sentences_of_training_reviews(monkeypatch):
    import pandas as pd

    from voxlens.models import train_polish

    sentences = pd.DataFrame({"text": ["Obsługa bardzo miła.", "Pokój był brudny.", "Lekarz nie słuchał.",
                                       "Parking płatny osobno.", "Tak."],
                              "label": ["positive", "negative", "negative", "neutral", "neutral"]})
    monkeypatch.setattr(train_polish, "load_review_set", lambda name, data=None: sentences.assign(set=name))
    monkeypatch.setattr(train_polish, "review_texts", lambda name, member, data=None: ["Lekarz nie słuchał , szkoda ."])
    reviews = lambda *texts: pd.DataFrame({"text": list(texts), "set": "polemo_in"})
    splits = {"train": reviews("Obsługa bardzo miła , pokój był brudny .", "Tak ."),
              "validation": reviews("Pokój był brudny ! Nigdy więcej ."),
              "test": pd.DataFrame({"text": ["Parking płatny osobno , a szkoda ."], "set": "polemo_out"})}
    found = train_polish.polish_sentences(splits)
    # in a training and a validation review: held out; in the out-of-domain test: never used; one word: nowhere
    assert found["train"]["text"].tolist() == ["Obsługa bardzo miła."]
    assert found["validation"]["text"].tolist() == ["Pokój był brudny."]
    assert found["test"]["text"].tolist() == ["Lekarz nie słuchał."]
    assert set(found["train"]["set"]) == {"polemo_sentences"}
