"""Fast, bounded scoring: batching, de-duplication, streaming from the store, one embedding per text, cache."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from voxlens.sentiment.encoder import Encoder
from voxlens.sentiment.model import SentimentModel
from voxlens.sentiment.runtime import length_batches, unique_texts
from voxlens.pipeline import Pipeline
from voxlens.core.store import Store

PHRASES = [
    ("The courier was friendly and the parcel arrived early. Great service!", 5),
    ("Payment failed three times after the update, I could not send my parcel.", 1),
    ("Locker was full again, had to drive to another one.", 2),
    ("Tracking works fine.", 4),
    ("Kurier był bardzo miły, paczka dotarła szybko.", 5),
    ("Aplikacja się zawiesza przy płatności, masakra.", 1),
]


def write_reviews(path: Path, n: int) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review_id", "date", "stars", "body"])
        for i in range(n):
            text, stars = PHRASES[i % len(PHRASES)]
            writer.writerow([f"r{i:04d}", f"2026-09-{1 + i % 28:02d}T10:00:00Z", stars, f"{text} (order {i // 3})"])
    return path


def test_length_batches_cover_every_text_once_within_the_token_budget():
    lengths = [5, 120, 7, 118, 6, 3, 64, 64]
    batches = list(length_batches(lengths, batch_size=2, max_batch_tokens=256))
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    assert all(len(b) * max(lengths[i] for i in b) <= 256 for b in batches)
    assert batches[0].tolist() == [1, 3]          # longest first, padded only to each other
    assert max(len(b) for b in batches) > 2        # short texts fill bigger batches


def test_length_batches_with_min_fill_pad_no_row_beyond_its_share():
    lengths = np.array([100, 12, 97, 40, 9, 64, 38, 90])
    batches = list(length_batches(lengths, batch_size=64, max_batch_tokens=2048, min_fill=0.8))
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    assert all(lengths[b].min() >= 0.8 * lengths[b].max() for b in batches)
    assert [sorted(lengths[b].tolist()) for b in batches][:2] == [[90, 97, 100], [64]]
    assert len(list(length_batches(lengths, batch_size=64, max_batch_tokens=2048))) == 1   # without: one batch


def test_unique_texts_keeps_first_seen_order():
    unique, inverse = unique_texts(["late", "great", "late", "late"])
    assert unique == ["late", "great"]
    assert inverse.tolist() == [0, 1, 0, 0]


def test_batched_encoding_equals_one_text_at_a_time(tiny_encoder_dir: Path):
    texts = ["the parcel came late", "great service", "the app crashed the app crashed the parcel", "great service"]
    encoder = Encoder(str(tiny_encoder_dir), batch_size=2)
    together = encoder.encode(texts)
    alone = np.stack([encoder.encode([t])[0] for t in texts])
    assert together.shape == (4, 32)
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_array_equal(together[1], together[3])


def test_int8_encoder_is_a_close_approximation(tiny_encoder_dir: Path):
    texts = ["the parcel came late", "great service", "the app crashed"]
    exact = Encoder(str(tiny_encoder_dir)).encode(texts)
    int8 = Encoder(str(tiny_encoder_dir), quantize=True, backend="torch")
    approx = int8.encode(texts)
    assert "quantized" in type(int8.model_.encoder.layer[0].intermediate.dense).__module__
    assert ((exact * approx).sum(axis=1) > 0.9).all()


@pytest.fixture
def texts_embedded(monkeypatch) -> list[int]:
    """Counts every text any encoder embeds."""
    seen = [0]
    original = Encoder.encode

    def counting(self, texts, **options):
        seen[0] += len(texts)
        return original(self, texts, **options)

    monkeypatch.setattr(Encoder, "encode", counting)
    return seen


class FailingSentiment(SentimentModel):
    """The default model, failing on its third chunk (an interrupted run)."""

    calls = 0

    def predict_and_embed(self, texts, langs=None):
        FailingSentiment.calls += 1
        if FailingSentiment.calls == 3:
            raise KeyboardInterrupt
        return super().predict_and_embed(texts, langs=langs)


def test_streaming_analysis_embeds_each_text_once_and_resumes(store, tmp_path: Path, texts_embedded):
    from voxlens.collectors import import_reviews

    import_reviews(store, write_reviews(tmp_path / "reviews.csv", 60))
    sentiment = FailingSentiment()
    with pytest.raises(KeyboardInterrupt):
        Pipeline(store, sentiment=sentiment, chunk_size=10, fit_sample=25).analyze()
    stored = store.count("scores")
    assert 0 < stored < 60                          # chunks before the interruption were committed

    summary = Pipeline(store, sentiment=sentiment, chunk_size=10, fit_sample=25).analyze()
    assert summary.scored == 60 - stored            # only what was left
    assert store.count("scores") == 60 and store.count("topics") == 60
    distinct = store.execute("SELECT count(DISTINCT text) FROM items")[0][0]
    assert texts_embedded[0] <= distinct + 10  # each text once (plus the chunk lost mid-way)


def test_unchanged_text_is_never_scored_again(store, tmp_path: Path, texts_embedded):
    from voxlens.collectors import import_reviews

    import_reviews(store, write_reviews(tmp_path / "reviews.csv", 24))
    Pipeline(store, chunk_size=10).analyze()
    first = store.query("SELECT item_id, label, score FROM scores ORDER BY item_id")
    store.execute("DELETE FROM scores WHERE item_id IN (SELECT item_id FROM scores ORDER BY item_id LIMIT 5)")

    texts_embedded[0] = 0
    summary = Pipeline(store, chunk_size=10).analyze()
    assert summary.scored == 5 and summary.reused == 5
    assert texts_embedded[0] == 0
    again = store.query("SELECT item_id, label, score FROM scores ORDER BY item_id")
    assert again.equals(first)


@pytest.mark.parametrize("quantize, tolerance", [(False, 1e-5), (True, 0.05)])
def test_pipeline_scores_equal_predict_for_short_texts_and_per_sentence_long_texts(tmp_path, quantize, tolerance):
    """Embedding once for sentiment and topics must not change a score, nor skip long-text handling.

    int8 quantises activations per batch, so its scores move a little with a text's batch neighbours."""
    from voxlens.collectors import import_reviews
    from voxlens.sentiment import SentimentModel

    long_review = " ".join(["The courier was friendly and the parcel arrived early."] * 4
                           + ["But the app crashed twice at checkout and support never answered."] * 4)
    texts = ["Great app, fast delivery", "Paczka przyszła uszkodzona", long_review]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    model = SentimentModel(quantize=quantize)
    with Store(tmp_path / "s.duckdb") as store:
        import_reviews(store, path)
        Pipeline(store, sentiment=model).analyze()
        stored = store.query("SELECT i.text, i.lang, s.score FROM items i JOIN scores s USING (item_id) "
                             "ORDER BY i.external_id")
    expected = model.predict(texts, langs=stored["lang"].tolist())
    assert len(long_review) > model.long_text_chars and expected["sentences"].tolist()[2] > 1
    assert stored["score"].to_numpy() == pytest.approx(expected["score"].to_numpy(), abs=tolerance)
