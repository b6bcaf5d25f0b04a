"""The Spark engine (local mode) scores exactly what the in-process pipeline scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from voxlens.cli import main
from voxlens.pipeline import Pipeline
from voxlens.ratings import store_sentiment_model
from voxlens.core.store import Store


def write_reviews(path: Path, n: int) -> Path:
    lines = ["review_id,date,stars,body"]
    phrases = ["Courier was lovely and early, thanks!", "Payment failed after the update, useless.",
               "Locker was full again.", "Kurier był bardzo miły.", "Aplikacja się zawiesza przy płatności."]
    for i in range(n):
        lines.append(f"r{i:04d},2026-09-{1 + i % 28:02d}T10:00:00Z,{1 + i % 5},\"{phrases[i % 5]} (order {i})\"")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_spark_engine_scores_equal_in_process_scores(tmp_path: Path):
    from voxlens.collectors import import_reviews

    reviews = write_reviews(tmp_path / "reviews.csv", 240)
    with Store(tmp_path / "local.duckdb") as store:
        import_reviews(store, reviews)
        # fp32 on both sides: int8 quantises activations per batch, so its scores move with the batching
        Pipeline(store, sentiment=store_sentiment_model(store, quantize=False)).analyze()
        local = store.query("SELECT item_id, model, label, score, p_negative, p_neutral, p_positive "
                            "FROM scores ORDER BY item_id")

    runner = CliRunner()
    spark_db = str(tmp_path / "spark.duckdb")
    assert runner.invoke(main, ["import", "reviews", str(reviews), "--db", spark_db]).exit_code == 0
    result = runner.invoke(main, ["analyze", "--db", spark_db, "--fp32", "--engine", "spark",
                                  "--spark-master", "local[2]"])
    assert result.exit_code == 0, result.output
    assert "sentiment scored on Spark: 240" in result.output
    with Store(spark_db, read_only=True) as store:
        on_spark = store.query("SELECT item_id, model, label, score, p_negative, p_neutral, p_positive "
                               "FROM scores ORDER BY item_id")
        assert store.count("topics") == 240

    assert len(on_spark) == 240
    assert on_spark[["item_id", "model", "label"]].equals(local[["item_id", "model", "label"]])
    columns = ["score", "p_negative", "p_neutral", "p_positive"]
    np.testing.assert_allclose(on_spark[columns].to_numpy(), local[columns].to_numpy(), atol=1e-5)
