"""Sentences of many texts are encoded together, once, and give the scores each text gets alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from voxlens.sentiment.encoder import Encoder
from voxlens.sentiment.model import SentimentModel
from voxlens.sentiment.scorers import HeadScorer, SentimentHead
from voxlens.sentiment.segments import scoring_segments

SHORT = ["the parcel came late", "great service", "the app crashed", "great service"]
LONG = ("the parcel came late. the app crashed again and again. great service though. "
        "the parcel came late once more! the app crashed. great great service. the parcel came. "
        "late late late. the app crashed the app crashed. great service came late. the parcel.")


@pytest.fixture
def tiny_model(tiny_encoder_dir: Path, tmp_path: Path) -> SentimentModel:
    """The default model's code path with a tiny encoder and a random head (no download, fast)."""
    rng = np.random.default_rng(0)
    SentimentHead(rng.normal(size=(3, 32)), rng.normal(size=3), ["negative", "neutral", "positive"],
                  card={"version": "test", "aggregation": {"recency": 1.0}}).save(tmp_path / "head")
    model = SentimentModel(long_text_chars=100, quantize=False)
    model.__dict__["scorers_"] = {"default": HeadScorer(head_dir=tmp_path / "head", encoder=str(tiny_encoder_dir),
                                                        batch_size=2)}
    return model


@pytest.fixture
def encoded(monkeypatch) -> list[list[str]]:
    """The texts of every Encoder.encode call."""
    calls: list[list[str]] = []
    original = Encoder.encode

    def spy(self, texts, **options):
        calls.append(list(texts))
        return original(self, texts, **options)

    monkeypatch.setattr(Encoder, "encode", spy)
    return calls


def test_sentences_of_all_texts_go_to_the_encoder_in_one_call(tiny_model, encoded):
    texts = [*SHORT, LONG, LONG + " great"]
    tiny_model.predict(texts, langs=["en"] * len(texts))
    assert len(encoded) == 1
    expected = [s for t in texts for s in scoring_segments(t, tiny_model.long_text_chars)]
    assert encoded[0] == expected and len(expected) > len(texts) + 10


def test_global_batching_gives_each_text_the_scores_it_gets_alone(tiny_model):
    texts = [*SHORT, LONG, LONG + " great"]
    together = tiny_model.predict(texts, langs=["en"] * len(texts))
    alone = [tiny_model.predict([t], langs=["en"]) for t in texts]
    columns = ["p_negative", "p_neutral", "p_positive"]
    np.testing.assert_allclose(together[columns].to_numpy(), np.vstack([a[columns].to_numpy() for a in alone]),
                               atol=1e-5)
    assert together["label"].tolist() == [a["label"].iloc[0] for a in alone]
    assert together["sentences"].tolist()[-2] > 1


def test_predict_and_embed_scores_as_predict_and_embeds_each_text_whole(tiny_model, tiny_encoder_dir, encoded):
    texts = [*SHORT, LONG]
    scores, vectors = tiny_model.predict_and_embed(texts)
    assert len(encoded) == 1                                    # sentences and whole texts in one call
    expected = tiny_model.predict(texts, langs=["en"] * len(texts))
    columns = ["score", "p_negative", "p_neutral", "p_positive", "sentences"]
    np.testing.assert_allclose(scores[columns].to_numpy(float), expected[columns].to_numpy(float), atol=1e-6)
    assert scores["label"].tolist() == expected["label"].tolist()
    np.testing.assert_allclose(vectors, Encoder(str(tiny_encoder_dir)).encode(texts), atol=1e-5)


def test_pipeline_encodes_each_text_once_for_sentiment_and_topics(tiny_model, encoded, store, tmp_path):
    from voxlens.collectors import import_reviews
    from voxlens.pipeline import Pipeline

    words = "the parcel came late app crashed great service".split()
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(words, size=int(rng.integers(2, 8)))) for _ in range(30)]
    texts += [LONG, " ".join(f"review {i}: the app crashed on day {i}." for i in range(12))]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    import_reviews(store, path)
    Pipeline(store, sentiment=tiny_model, chunk_size=10, fit_sample=20).analyze()
    assert store.count("scores") == len(texts) and store.count("topics") == len(texts)
    seen = [t for call in encoded for t in call]
    distinct = set(store.query("SELECT text FROM items")["text"])
    segments = {s for t in distinct for s in scoring_segments(t, tiny_model.long_text_chars)}
    assert set(seen) == segments | distinct            # sentences of long texts, and each text whole
    assert len(seen) == len(set(seen))                 # nothing encoded twice
    stored = store.query("SELECT i.text, s.score FROM items i JOIN scores s USING (item_id)")
    direct = tiny_model.predict(stored["text"].tolist(), langs=["en"] * len(stored))
    np.testing.assert_allclose(stored["score"].to_numpy(), direct["score"].to_numpy(), atol=1e-5)


@pytest.mark.parametrize("flag, int8", [("--int8", True), ("--fp32", False), (None, True)])
def test_analyze_int8_and_fp32_options_choose_the_encoder(flag, int8, monkeypatch, tmp_path):
    from click.testing import CliRunner

    import voxlens.pipeline
    from voxlens.cli import main
    from voxlens.core.store import Store

    chosen = []

    class Recorder(voxlens.pipeline.Pipeline):
        def analyze(self):
            chosen.append(self.sentiment)
            raise SystemExit(0)

    monkeypatch.setattr(voxlens.pipeline, "Pipeline", Recorder)
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        store.execute("INSERT INTO items (item_id, source, external_id, collected_at, text, content_hash) "
                      "VALUES ('a', 'x', '1', TIMESTAMP '2026-01-01', 'great service', 'h')")
    CliRunner().invoke(main, ["analyze", "--db", str(db), *([flag] if flag else [])])
    (model,) = chosen
    assert model.quantize is int8
    assert model._scorer(None).name.endswith("+int8") is int8


def test_predict_and_embed_scores_other_routes_from_their_text_and_still_embeds_them(tiny_model, tiny_encoder_dir,
                                                                                     encoded, tmp_path):
    from voxlens.sentiment.ngram import NgramSentimentModel

    polish = ["super, polecam", "fatalnie, nie polecam", "rewelacja, polecam", "okropne, zepsute"] * 6
    NgramSentimentModel(n_features=2**10, card={"name": "test-ngram", "version": "1"}).fit(
        polish, ["positive", "negative", "positive", "negative"] * 6).save(tmp_path / "pl")
    tiny_model.routes = {"en": "default", "pl": str(tmp_path / "pl")}
    texts, langs = [*SHORT, LONG, "rewelacja, polecam", "okropne, zepsute"], ["en"] * 5 + ["pl", "pl"]
    scores, vectors = tiny_model.predict_and_embed(texts, langs=langs)
    assert len(encoded) == 1                                    # the Polish texts are embedded, not scored, here
    expected = tiny_model.predict(texts, langs=langs)
    columns = ["p_negative", "p_neutral", "p_positive"]
    np.testing.assert_allclose(scores[columns].to_numpy(float), expected[columns].to_numpy(float), atol=1e-6)
    assert scores["label"].tolist() == expected["label"].tolist()
    assert set(expected["model"][-2:]) == {"test-ngram@1"} and expected["model"][0] != "test-ngram@1"
    np.testing.assert_allclose(vectors, Encoder(str(tiny_encoder_dir)).encode(texts), atol=1e-5)
