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
    from voxlens.sentiment.scorers import default_polish_dir

    assert is_ngram_dir(default_polish_dir())
    model = SentimentModel()
    assert model.covers("en") and model.covers("pl") and not model.covers("de")
    scored = model.predict(list(POLISH), langs=["pl"] * len(POLISH))
    assert scored["covered"].all() and scored["model"].str.startswith("voxlens/polish-ngram-sentiment@").all()
    assert scored["label"].tolist() == list(POLISH.values())
    assert np.allclose(scored[["p_negative", "p_neutral", "p_positive"]].sum(axis=1), 1.0)
    assert (scored["sentences"] == 1).all()          # the n-gram model reads a review whole


SHORT_POLISH = {   # one-line feedback, the way tickets and posts arrive: read as sentences are, not as reviews
    "Kurier był bardzo niemiły i spóźniony.": "negative",
    "Paczka przyszła wczoraj.": "neutral",
    "Dziękuję za szybką pomoc!": "positive",
}


def test_the_default_model_reads_short_polish_feedback():
    from voxlens.sentiment import SentimentModel

    scored = SentimentModel().predict(list(SHORT_POLISH), langs=["pl"] * len(SHORT_POLISH))
    assert scored["label"].tolist() == list(SHORT_POLISH.values())


def test_the_polish_card_records_the_labelled_sentences_it_learnt_from():
    import json

    from voxlens.models.review_data import POLEMO_SENTENCE_SETS
    from voxlens.sentiment.scorers import default_polish_dir

    card = json.loads((default_polish_dir() / "card.json").read_text())
    assert set(POLEMO_SENTENCE_SETS) <= {record["set"] for record in card["data"]}
    assert card["sentence_weight"] > 0 and card["sentence_rows"]["train"] > 0
    assert 0 < card["test"]["polemo_in_test_sentences_macro_f1"] <= 1


def test_the_model_name_changes_with_the_polish_route_so_stores_rescore():
    from voxlens.sentiment import SentimentModel

    assert "pl=voxlens/polish-ngram-sentiment@" in SentimentModel().name
    assert "pl=" not in SentimentModel(routes={"en": "default"}).name


def test_the_polish_card_records_its_data_provenance_and_held_out_score():
    import json

    from voxlens.sentiment.scorers import default_polish_dir

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


def _tiny_polish_model(**settings) -> tuple[NgramSentimentModel, list[str], list[str]]:
    texts = ["super, polecam", "fatalnie, nie polecam", "dotarło w piątek", "rewelacja, polecam",
             "okropne, zepsute", "zwykły produkt", "polecam gorąco, świetny", "zepsuty, nie działa"] * 3
    labels = ["positive", "negative", "neutral", "positive", "negative", "neutral", "positive", "negative"] * 3
    return NgramSentimentModel(n_features=2**10, **settings).fit(texts, labels), texts, labels


def test_feature_settings_and_class_offsets_round_trip_through_the_files(tmp_path: Path):
    model, texts, labels = _tiny_polish_model(block_norm=True, stem_chars=4, char_analyzer="char",
                                              char_ngrams=(3, 4))
    model.bias_ = np.array([0.0, 0.5, -0.25], dtype=np.float32)
    model.save(tmp_path / "m")
    loaded = NgramSentimentModel.load(tmp_path / "m")
    assert (loaded.block_norm, loaded.stem_chars, loaded.char_analyzer, loaded.char_ngrams) == (True, 4, "char", (3, 4))
    assert np.allclose(loaded.bias_, [0.0, 0.5, -0.25])
    assert np.allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=2e-3)
    # the offsets shift the probabilities: a neutral offset raises every text's neutral probability
    plain = NgramSentimentModel.load(tmp_path / "m")
    plain.bias_ = np.zeros(3, dtype=np.float32)
    assert (loaded.predict_proba(texts)[:, 1] > plain.predict_proba(texts)[:, 1]).all()


def test_block_norm_gives_each_feature_kind_unit_length():
    model, texts, _ = _tiny_polish_model(block_norm=True, stem_chars=5)
    x = model.features(texts[:3]).toarray()
    width = model.n_features
    blocks = [np.linalg.norm(x[:, i:i + width], axis=1) for i in range(0, x.shape[1], width)]
    assert len(blocks) == 3 and np.allclose(blocks, 1 / np.sqrt(3), atol=1e-5)


def test_a_model_saved_before_the_feature_settings_existed_loads_with_its_old_features(tmp_path: Path):
    import json

    model, texts, _ = _tiny_polish_model()
    model.save(tmp_path / "m")
    card_path = tmp_path / "m" / "card.json"
    card = json.loads(card_path.read_text())
    for key in ("char_analyzer", "char_ngrams", "stem_chars", "block_norm", "class_offsets"):
        card.pop(key)
    card_path.write_text(json.dumps(card))
    arrays = dict(np.load(tmp_path / "m" / "ngram.npz"))
    arrays.pop("bias")
    np.savez_compressed(tmp_path / "m" / "ngram.npz", **arrays)
    old = NgramSentimentModel.load(tmp_path / "m")
    assert (old.char_analyzer, old.char_ngrams, old.stem_chars, old.block_norm) == ("char_wb", (2, 5), 0, False)
    assert np.allclose(old.bias_, 0) and np.allclose(old.predict_proba(texts), model.predict_proba(texts), atol=2e-3)


def test_fitted_class_offsets_do_not_lower_macro_f1_on_the_data_they_were_fitted_on():
    from sklearn.metrics import f1_score

    from voxlens.sentiment.ngram import LABELS

    model, texts, labels = _tiny_polish_model()
    model.bias_ = np.array([0.0, -3.0, 0.0], dtype=np.float32)     # a bad start: neutral is never predicted
    x = model.features(texts)
    y = [LABELS.index(label) for label in labels]
    before = f1_score(y, model.predict_features(x).argmax(1), average="macro")
    model.fit_bias(x, labels, groups=["a", "b"] * (len(texts) // 2))
    after = f1_score(y, model.predict_features(x).argmax(1), average="macro")
    assert model.bias_[0] == 0 and after >= before and after > 0.9


def test_the_training_grid_names_its_feature_settings():
    import argparse

    from voxlens.models.train_polish import DEFAULT_GRID, DEFAULT_SENTENCE_WEIGHTS, _grid

    assert _grid("4:none:0.5,16:balanced:1:block+stem6,8:per-set:0.5:words+stem6+lemmas+neg:300") == [
        (4.0, None, 0.5, "joint", 0), (16.0, "balanced", 1.0, "block+stem6", 0),
        (8.0, "per-set", 0.5, "words+stem6+lemmas+neg", 300)]
    assert len(_grid(DEFAULT_GRID)) * len(DEFAULT_SENTENCE_WEIGHTS) >= 2      # validation has a choice to make
    assert 0.0 in DEFAULT_SENTENCE_WEIGHTS                                     # reviews alone are a candidate
    with pytest.raises(argparse.ArgumentTypeError):
        _grid("4:none:0.5:no-such-features")
    with pytest.raises(argparse.ArgumentTypeError):
        _grid("4:by-magic:0.5:joint")


def test_per_set_class_weights_balance_the_labels_within_each_training_set():
    import pandas as pd

    from voxlens.models.train_polish import sample_weights

    train = pd.DataFrame({"set": ["polemo_in"] * 6 + ["allegro_reviews"] * 4,
                          "label": ["negative"] * 3 + ["neutral", "positive", "positive"]
                          + ["positive", "positive", "neutral", "negative"]})
    weight = sample_weights(train, "per-set", 0.5)
    totals = pd.Series(weight).groupby([train["set"], train["label"]]).sum()
    assert np.allclose(totals["polemo_in"], totals["polemo_in"].iloc[0])          # each label weighs the same
    assert np.allclose(totals["allegro_reviews"], totals["allegro_reviews"].iloc[0])
    assert np.isclose(totals["allegro_reviews"].sum() / 4, 0.5 * totals["polemo_in"].sum() / 6)   # per review
    assert np.isclose(weight.mean(), 1.0)
    assert sample_weights(train, "balanced", 0.5).tolist() == [1.0] * 6 + [0.5] * 4   # left to the classifier


def test_lemma_features_mark_negated_words():
    from voxlens.sentiment.ngram import lemma_ngrams

    grams = lemma_ngrams("Nie polecam, bez problemu", negation=True)
    assert {"l:polecać", "l:nie_polecać", "l:bez_problem", "l:nie l:polecać"} <= set(grams)
    assert not any("_" in g for g in lemma_ngrams("Nie polecam, bez problemu"))


def test_word_stem_and_lemma_features_without_characters_round_trip(tmp_path: Path):
    model, texts, _ = _tiny_polish_model(char_analyzer=None, stem_chars=6, lemmas=True, negation=True)
    assert model.features(texts[:2]).shape[1] == 3 * model.n_features        # words, stems, lemmas
    model.save(tmp_path / "m")
    loaded = NgramSentimentModel.load(tmp_path / "m")
    assert (loaded.char_analyzer, loaded.lemmas, loaded.negation) == (None, True, True)
    assert np.allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=2e-3)


def test_dropped_domain_features_are_those_that_tell_the_domains_apart():
    texts = ["hotel czysty, polecam", "hotel brudny, nie polecam", "lekarz miły, polecam", "lekarz niemiły, nie polecam"] * 3
    domains = ["hotels", "hotels", "medicine", "medicine"] * 3
    model = NgramSentimentModel(n_features=2**12, char_analyzer=None).fit_idf(texts)
    x = model.features(texts)
    model.drop_domain_features(x, domains, 2)
    dropped = np.flatnonzero(model.idf_ == 0)
    words = model._vectorizers()[0]
    assert set(dropped) == {words.transform(["hotel"]).indices[0], words.transform(["lekarz"]).indices[0]}
    kept = model.keep_features(x)
    assert np.allclose(kept.toarray(), model.features(texts).toarray(), atol=1e-6)     # as computed afresh
    assert not kept[:, dropped].count_nonzero() and np.allclose(np.linalg.norm(kept.toarray(), axis=1), 1)


def test_class_offsets_are_kept_only_when_cross_validation_favours_them():
    import pandas as pd

    from voxlens.models.train_polish import choose_offsets

    model, texts, labels = _tiny_polish_model()
    validation = pd.DataFrame({"text": texts, "label": labels, "set": ["a", "b"] * (len(texts) // 2)})
    record = choose_offsets(model, model.features(texts), validation)
    # the model already separates these reviews perfectly: offsets cannot beat it, so none are kept
    assert record["mean_validation_macro_f1_without"] == 1.0 and len(record["mean_validation_macro_f1_2fold"]) == 3
    assert not record["adopted"] and record["offsets"] == [0.0, 0.0, 0.0] and not model.bias_.any()
