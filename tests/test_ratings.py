"""The store's own sentiment model: rating → label mapping, rated items, tune (adopt or keep), export items.

Fast tests replace the MiniLM encoder by a bag-of-words hash (the plumbing is what they check); the slow
test at the end runs the real encoder through the command line."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from voxlens.sentiment.rating_labels import nps_label, rating_label

FIXTURE = Path(__file__).parent / "fixtures" / "ratings" / "app_reviews.csv"


def test_the_documented_rating_mapping():
    assert [rating_label(r, 5) for r in (1, 2, 3, 4, 5)] == ["negative"] * 2 + ["neutral"] + ["positive"] * 2
    assert [rating_label(r, 10) for r in (0, 4, 5, 6, 7, 10)] == ["negative"] * 2 + ["neutral"] * 2 + ["positive"] * 2
    assert [nps_label(s) for s in (0, 6, 7, 8, 9, 10)] == ["negative"] * 2 + ["neutral"] * 2 + ["positive"] * 2
    assert [rating_label(r, 7) for r in (3, 4, 5)] == ["negative", "neutral", "positive"]
    assert rating_label(None, 5) is None and rating_label(4, None) is None and nps_label(float("nan")) is None


def bag_of_words(texts):
    """A deterministic stand-in for MiniLM: hashed words, unit length, 384 dimensions."""
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in str(text).lower().replace(",", " ").replace(".", " ").split():
            out[i, zlib.crc32(word.encode()) % 384] += 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)


@pytest.fixture
def fake_encoder(monkeypatch, tmp_path):
    """The frozen-MiniLM head (v3) as the default, over the bag-of-words stand-in for MiniLM."""
    import voxlens.sentiment.scorers
    from voxlens.sentiment.encoder import Encoder

    monkeypatch.setattr(voxlens.sentiment.scorers, "default_branch_dir", lambda: tmp_path / "no-branch")
    monkeypatch.setattr(Encoder, "encode", lambda self, texts, *a, **k: bag_of_words(list(texts)))


def import_fixture(store, path: Path = FIXTURE) -> None:
    from voxlens.collectors import import_reviews

    import_reviews(store, path, source="appstore", rating_scale=5)
    store.execute("UPDATE items SET lang = 'en'")


def test_rated_items_take_the_items_rating_else_the_answers_nps_or_csat(store):
    from voxlens.ratings import rated_items

    now = pd.Timestamp("2026-01-01")
    items = pd.DataFrame({
        "item_id": ["a", "b", "c", "d"], "source": "s", "external_id": ["a", "b", "c", "d"], "channel": None,
        "created_at": now, "collected_at": now, "author": None, "title": None,
        "text": ["great", "would not recommend", "it was ok", "no rating here"], "lang": "en",
        "rating": [9.0, None, None, None], "rating_scale": [10, None, None, None], "url": None,
        "response_id": [None, "r1", "r2", None], "meta": None, "content_hash": "h"})
    store.upsert("items", items, key=["item_id"])
    responses = pd.DataFrame({"response_id": ["r1", "r2"], "source": "s", "external_id": ["r1", "r2"],
                              "customer_id": None, "submitted_at": now, "nps": [3, None], "csat": [None, 3],
                              "csat_scale": [None, 5], "ces": None, "ces_scale": None, "segment": None,
                              "meta": None, "content_hash": "h"})
    store.upsert("responses", responses, key=["response_id"])
    rated = rated_items(store).set_index("item_id")
    assert rated["label"].to_dict() == {"a": "positive", "b": "negative", "c": "neutral"}
    assert rated["rated_by"].to_dict() == {"a": "rating", "b": "nps", "c": "csat"}


def test_tune_adopts_a_better_head_and_the_store_model_routes_english_to_it(store, fake_encoder):
    from voxlens.ratings import META_KEY, store_sentiment_model, tune

    import_fixture(store)
    result = tune(store, folds=3)
    assert result.items == 108 and result.counts == {"negative": 36, "neutral": 36, "positive": 36}
    assert result.after > result.before and result.adopted, str(result)
    assert "macro-F1 default" in str(result) and "adopted" in str(result)
    saved = Path(result.path)
    assert (saved / "tuned.npz").exists() and json.loads(store.get_meta(META_KEY))["languages"] == ["en"]
    card = json.loads((saved / "card.json").read_text())
    assert card["rated_items"] == 108 and card["cross_validation"]["tuned_macro_f1"] == result.after

    model = store_sentiment_model(store)
    assert model.covers("en") and model.covers("pl")
    assert "tuned:test.duckdb" in model.name
    scored = model.predict(["Charged twice for one order", "Love it, works perfectly"], langs=["en", "en"])
    assert scored["label"].tolist() == ["negative", "positive"]
    assert scored["model"].str.contains("tuned:").all()


def test_a_model_tuned_on_an_earlier_branch_model_asks_to_tune_again(store, fake_encoder, monkeypatch):
    import voxlens.ratings
    from voxlens.core.errors import ModelError

    import_fixture(store)
    result = voxlens.ratings.tune(store, folds=3)
    card_path = Path(result.path) / "card.json"
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps({**card, "base": "voxlens/minilm-branch-sentiment@4"}))
    monkeypatch.setattr(voxlens.ratings, "installed_base_name", lambda: "voxlens/minilm-branch-sentiment@5")
    with pytest.raises(ModelError, match=r"fitted on voxlens/minilm-branch-sentiment@4.*tune --db FILE"):
        voxlens.ratings.store_sentiment_model(store)
    card_path.write_text(json.dumps({**card, "base": "voxlens/minilm-branch-sentiment@5"}))
    assert voxlens.ratings.store_sentiment_model(store)._routes()["en"] == result.path


def test_tune_keeps_the_default_when_the_tuned_head_is_not_better(store, fake_encoder, monkeypatch):
    from voxlens.models import adapt
    from voxlens.ratings import META_KEY, store_sentiment_model, tune

    import_fixture(store)
    monkeypatch.setattr(adapt, "cross_validate", lambda *a, **k: adapt.CrossValidation(0.7, 0.6, 3, 108))
    result = tune(store, folds=3)
    assert (result.before, result.after, result.adopted) == (0.7, 0.6, False)
    assert "kept the default" in str(result)
    assert not store.get_meta(META_KEY) and not (Path(store.path).parent / "test.duckdb.sentiment").exists()
    assert "tuned" not in store_sentiment_model(store).name


def test_tune_says_why_when_there_are_too_few_rated_items(store, fake_encoder):
    from voxlens.ratings import tune

    import_fixture(store)
    store.execute("UPDATE items SET rating = NULL WHERE item_id NOT IN (SELECT item_id FROM items LIMIT 20)")
    result = tune(store)
    assert result.before is None and not result.adopted
    assert "20 rated items" in str(result)


def test_pipeline_tune_switches_the_pipeline_to_the_tuned_model(store, fake_encoder):
    from voxlens.pipeline import Pipeline

    import_fixture(store)
    pipeline = Pipeline(store)
    before = pipeline.sentiment.name
    result = pipeline.tune(folds=3)
    assert result.adopted and pipeline.sentiment.name != before and "tuned:" in pipeline.sentiment.name


def write_scored_store(store) -> None:
    import_fixture(store)
    ids = store.query("SELECT item_id FROM items ORDER BY item_id")["item_id"].tolist()
    old = pd.Timestamp("2026-01-01")
    for model, when, label in (("old@1", old, "neutral"), ("new@2", old + pd.Timedelta(days=1), "positive")):
        store.upsert("scores", pd.DataFrame({
            "item_id": ids[:100], "model": model, "label": label, "score": 0.5, "p_negative": 0.1,
            "p_neutral": 0.3, "p_positive": 0.6, "scored_at": when}), key=["item_id", "model"])
    store.upsert("topic_info", pd.DataFrame({"topic_id": [3], "label": ["delivery"], "keywords": [["late"]],
                                             "first_seen": None, "size": 1, "centroid": None}), key=["topic_id"])
    store.upsert("topics", pd.DataFrame({"item_id": ids[:1], "topic_id": [3], "probability": [0.9],
                                         "vector": None}), key=["item_id"])


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_items_writes_every_analysed_item_with_its_latest_score_and_topic(store, tmp_path, fmt):
    from voxlens.cli import main
    from voxlens.cli_sentiment import EXPORT_COLUMNS

    write_scored_store(store)
    store.close()
    out = tmp_path / f"items.{fmt}"
    result = CliRunner().invoke(main, ["export", "items", "--db", store.path, "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = {"csv": pd.read_csv, "jsonl": lambda p: pd.read_json(p, lines=True), "parquet": pd.read_parquet}[fmt](out)
    assert list(frame.columns) == EXPORT_COLUMNS and len(frame) == 100
    assert set(frame["model"]) == {"new@2"} and set(frame["label"]) == {"positive"}
    assert frame["topic_label"].notna().sum() == 1 and frame.loc[frame["topic_id"] == 3, "topic_label"].item() == "delivery"
    assert set(frame["source"]) == {"appstore"} and frame["rating"].between(1, 5).all()


def test_export_items_on_a_store_without_scores_says_to_analyze(store, tmp_path):
    from voxlens.cli import main

    import_fixture(store)
    store.close()
    result = CliRunner().invoke(main, ["export", "items", "--db", store.path, "--out", str(tmp_path / "x.csv")])
    assert result.exit_code != 0 and "voxlens analyze" in result.output


@pytest.mark.slow
def test_tune_then_analyze_rescores_every_item_with_the_tuned_model(tmp_path):
    from voxlens.cli import main
    from voxlens.core.store import Store

    db = str(tmp_path / "reviews.duckdb")
    runner = CliRunner()
    assert runner.invoke(main, ["import", "reviews", str(FIXTURE), "--db", db, "--source", "appstore"]).exit_code == 0
    assert runner.invoke(main, ["analyze", "--db", db]).exit_code == 0
    tuned = runner.invoke(main, ["tune", "--db", db, "--folds", "3"])
    assert tuned.exit_code == 0 and "macro-F1 default" in tuned.output, tuned.output
    assert runner.invoke(main, ["analyze", "--db", db]).exit_code == 0
    out = tmp_path / "items.csv"
    assert runner.invoke(main, ["export", "items", "--db", db, "--out", str(out)]).exit_code == 0
    frame = pd.read_csv(out)
    assert len(frame) == 108
    with Store(db, read_only=True) as store:
        adopted = bool(store.get_meta("sentiment_model"))
    assert frame["model"].str.contains("tuned:").all() == adopted


def test_the_tune_command_reports_and_resets(store, fake_encoder):
    from voxlens.cli import main
    from voxlens.ratings import META_KEY

    import_fixture(store)
    store.execute("UPDATE items SET rating = NULL WHERE item_id NOT IN (SELECT item_id FROM items LIMIT 30)")
    store.set_meta(META_KEY, '{"path": "x", "languages": ["en"]}')
    store.close()
    runner = CliRunner()
    tuned = runner.invoke(main, ["tune", "--db", store.path])
    assert tuned.exit_code == 0 and "not tuned: 30 rated items" in tuned.output, tuned.output
    reset = runner.invoke(main, ["tune", "--db", store.path, "--reset"])
    assert reset.exit_code == 0 and "default sentiment model again" in reset.output
    from voxlens.core.store import Store

    with Store(store.path, read_only=True) as reopened:
        assert not reopened.get_meta(META_KEY)
