"""Each item's language is detected, stored in the output and routed to the model configured for it."""

from __future__ import annotations

import pytest

from voxlens.sentiment import SentimentModel
from voxlens.sentiment.language import detect_languages
from test_sentiment_checkpoints import tiny_checkpoint

THREE = {0: "negative", 1: "neutral", 2: "positive"}
FEEDBACK = ["The courier was late again and nobody answered the phone",
            "Kurier znowu się spóźnił i nikt nie odbierał telefonu",
            "Der Kurier kam wieder zu spät und niemand ging ans Telefon"]


def test_languages_are_detected_offline():
    assert detect_languages(FEEDBACK + ["??", "Aplikacja ciągle mnie wylogowuje"]) == ["en", "pl", "de", "und", "pl"]


def test_each_language_goes_to_its_own_model(tmp_path):
    english = tiny_checkpoint(tmp_path / "en", THREE, [0.0, 0.0, 4.0])
    polish = tiny_checkpoint(tmp_path / "pl", THREE, [4.0, 0.0, 0.0])
    model = SentimentModel(routes={"en": english, "pl": polish})

    scores = model.predict(FEEDBACK[:2])

    assert scores[["lang", "label", "model", "covered"]].values.tolist() == [
        ["en", "positive", english, True], ["pl", "negative", polish, True]]
    assert model.name == f"en={english};pl={polish}"


def test_an_uncovered_language_is_flagged_not_silently_scored(tmp_path):
    english = tiny_checkpoint(tmp_path / "en", THREE, [0.0, 0.0, 4.0])

    flagged = SentimentModel(routes={"en": english}).predict(FEEDBACK)
    skipped = SentimentModel(routes={"en": english}, uncovered="skip").predict(FEEDBACK)

    assert flagged["covered"].tolist() == [True, False, False]
    assert flagged["label"].tolist() == ["positive"] * 3  # scored by the English model, and flagged
    assert skipped["label"].tolist() == ["positive", None, None]
    assert skipped["score"].isna().tolist() == [False, True, True]


def test_given_language_codes_skip_detection(tmp_path):
    polish = tiny_checkpoint(tmp_path / "pl", THREE, [4.0, 0.0, 0.0])

    scores = SentimentModel(routes={"pl": polish}, uncovered="skip").predict(["ok", "ok"], langs=["pl", "en"])

    assert scores["label"].tolist() == ["negative", None]


@pytest.mark.slow
def test_default_model_scores_english_and_polish_each_with_its_own_route(sentiment_model):
    scores = sentiment_model.predict(["The courier was lovely and fast", "Paczka przyszła zniszczona"])

    assert scores["lang"].tolist() == ["en", "pl"]
    assert scores["covered"].tolist() == [True, True]
    assert scores["score"].iloc[0] > 0 and scores["label"].iloc[1] == "negative"
    assert scores["model"].iloc[0].startswith("voxlens/minilm-branch-sentiment@")
    assert scores["model"].iloc[1].startswith("voxlens/polish-ngram-sentiment@")
    assert scores["score"].between(-1, 1).all()


def test_no_texts_give_an_empty_frame_with_the_public_columns(tmp_path):
    english = tiny_checkpoint(tmp_path / "en", THREE, [0.0, 0.0, 4.0])

    scores = SentimentModel(routes={"en": english}).predict([])

    assert scores.empty
    assert {"label", "score", "p_negative", "p_neutral", "p_positive", "lang", "covered"} <= set(scores.columns)
