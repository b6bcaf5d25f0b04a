"""Polish coverage (the shipped n-gram model routed by language), the n-gram model itself, and the review
data's provenance checks. No encoder is loaded: Polish is scored from the text alone."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from voxlens.sentiment.ngram import NgramSentimentModel, is_ngram_dir

POLISH = {
    "Świetny produkt, działa bez zarzutu, polecam każdemu!": "positive",
    "Obsługa bardzo miła, pokój czysty i wygodny. Na pewno wrócimy.": "positive",
    "Tragedia. Paczka przyszła uszkodzona, a sklep nie odpowiada na reklamację.": "negative",
    "Nie polecam, bateria padła po tygodniu i nikt nie chce tego naprawić.": "negative",
}


def test_the_default_model_covers_polish_with_the_shipped_ngram_model():
    from voxlens.sentiment import SentimentModel
    from voxlens.sentiment.model import default_polish_dir

    assert is_ngram_dir(default_polish_dir())
    model = SentimentModel()
    assert model.covers("en") and model.covers("pl") and not model.covers("de")
    scored = model.predict(list(POLISH), langs=["pl"] * len(POLISH))
    assert scored["covered"].all() and scored["model"].str.startswith("voxlens/polish-ngram-sentiment@").all()
    assert scored["label"].tolist() == list(POLISH.values())
    assert np.allclose(scored[["p_negative", "p_neutral", "p_positive"]].sum(axis=1), 1.0)
    assert (scored["sentences"] == 1).all()          # the n-gram model reads a review whole


def test_the_model_name_changes_with_the_polish_route_so_stores_rescore():
    from voxlens.sentiment import SentimentModel

    assert "pl=voxlens/polish-ngram-sentiment@" in SentimentModel().name
    assert "pl=" not in SentimentModel(routes={"en": "default"}).name


def test_the_polish_card_records_its_data_provenance_and_held_out_score():
    import json

    from voxlens.sentiment.model import default_polish_dir

    card = json.loads((default_polish_dir() / "card.json").read_text())
    sets = {record["set"]: record for record in card["data"]}
    assert {"polemo_in", "polemo_out", "allegro_reviews"} <= set(sets)
    for record in sets.values():
        assert len(record["sha256"]) == 64 and len(record["commit"]) == 40 and record["licence"]
    assert "non-commercial" in card["licence_note"]
    assert 0 < card["test"]["polemo_out_dev_macro_f1"] <= 1


def test_an_ngram_model_round_trips_through_its_files(tmp_path: Path):
    texts = ["super, polecam", "fatalnie, nie polecam", "dotarło w piątek", "rewelacja, polecam",
             "okropne, zepsute", "zwykły produkt"] * 4
    labels = ["positive", "negative", "neutral"] * 8
    model = NgramSentimentModel(n_features=2**10, card={"name": "test-ngram", "version": "9"}).fit(texts, labels)
    model.save(tmp_path / "m")
    loaded = NgramSentimentModel.load(tmp_path / "m")
    assert np.allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=2e-3)

    from voxlens.sentiment import SentimentModel

    routed = SentimentModel(routes={"pl": str(tmp_path / "m")})
    scored = routed.predict(["rewelacja, polecam", "okropne, zepsute"], langs=["pl", "pl"])
    assert scored["label"].tolist() == ["positive", "negative"] and set(scored["model"]) == {"test-ngram@9"}


def test_a_missing_ngram_model_is_a_model_error(tmp_path: Path):
    from voxlens.core.errors import ModelError

    with pytest.raises(ModelError):
        NgramSentimentModel.load(tmp_path)


def test_review_files_are_read_from_a_given_directory_and_checked_against_their_sha256(tmp_path: Path):
    from voxlens.models.review_data import REVIEW_SETS, load_review_set, read_bytes, split_of

    csv = "Review,Rating\nLovely room and kind staff,5\nDirty bathroom and noisy street,1\nIt was fine,3\n"
    (tmp_path / "tripadvisor_hotel_reviews.csv").write_text(csv)
    wrong = REVIEW_SETS["hotels"]
    with pytest.raises(ValueError, match="sha256"):
        read_bytes(wrong, data_dir=tmp_path, cache=tmp_path / "cache")
    right = replace(wrong, sha256=hashlib.sha256(csv.encode()).hexdigest())
    assert read_bytes(right, data_dir=tmp_path, cache=tmp_path / "cache") == csv.encode()

    import voxlens.models.review_data as review_data

    review_data.REVIEW_SETS["hotels_test_copy"] = replace(right, name="hotels")
    try:
        frame = load_review_set("hotels_test_copy", data_dir=tmp_path, cache=tmp_path / "cache")
    finally:
        del review_data.REVIEW_SETS["hotels_test_copy"]
    assert frame["label"].tolist() == ["positive", "negative", "neutral"]
    assert {split_of(t) for t in frame["text"]} <= {"train", "validation", "test"}
    assert split_of("same text") == split_of("same text")
