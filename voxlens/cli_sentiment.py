"""``voxlens tune`` (the store's own sentiment model from its rated items) and ``voxlens export items``."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from voxlens.cli_options import db_option, examples, open_db
from voxlens.core.errors import VoxlensError

EXPORT_COLUMNS = ["source", "external_id", "created_at", "text", "lang", "rating", "label", "score", "p_negative",
                  "p_neutral", "p_positive", "model", "topic_id", "topic_label"]


@click.command("tune", epilog=examples("voxlens tune --db feedback.duckdb",
                                       "voxlens tune --db feedback.duckdb --folds 10 --lang en"))
@db_option
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20),
              help="Cross-validation folds over the rated items.")
@click.option("--lang", "languages", multiple=True, default=("en",), show_default=True,
              help="Languages of the rated items to learn from (the tuned head reads English; repeatable).")
@click.option("--reset", is_flag=True, help="Go back to the default model instead.")
def tune_command(db: str, folds: int, languages: tuple[str, ...], reset: bool) -> None:
    """Fit the store's own sentiment model from its rated items (stars, scores, NPS, CSAT); adopt it only
    when it beats the default on held-out rated items. Then run `voxlens analyze` to re-score."""
    from voxlens.ratings import forget_tuned, tune

    with open_db(db) as store:
        if reset:
            forget_tuned(store)
            click.echo("the store uses the default sentiment model again; `voxlens analyze` re-scores")
            return
        result = tune(store, folds=folds, languages=languages)
    click.echo(str(result))


def items_frame(store) -> pd.DataFrame:
    """Every analysed item with its latest score and its topic (the columns of ``voxlens export items``)."""
    return store.query(
        "SELECT i.source, i.external_id, i.created_at, i.text, i.lang, i.rating, s.label, s.score, s.p_negative, "
        "s.p_neutral, s.p_positive, s.model, t.topic_id, ti.label AS topic_label "
        "FROM items i JOIN (SELECT * FROM scores QUALIFY row_number() OVER "
        "(PARTITION BY item_id ORDER BY scored_at DESC, model) = 1) s ON s.item_id = i.item_id "
        "LEFT JOIN topics t ON t.item_id = i.item_id LEFT JOIN topic_info ti ON ti.topic_id = t.topic_id "
        "ORDER BY i.created_at NULLS LAST, i.source, i.external_id")[EXPORT_COLUMNS]


def write_items(frame: pd.DataFrame, out: Path, fmt: str) -> None:
    """Write ``frame`` as csv, parquet or jsonl."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.to_csv(out, index=False)
    elif fmt == "jsonl":
        frame.to_json(out, orient="records", lines=True, date_format="iso", force_ascii=False)
    elif fmt == "parquet":
        try:
            frame.to_parquet(out, index=False)
        except ImportError as exc:
            raise VoxlensError("parquet needs pyarrow: pip install pyarrow (or use --format csv|jsonl)") from exc
    else:
        raise VoxlensError(f"unknown format {fmt!r}: use csv, parquet or jsonl")


@click.group("export", epilog=examples("voxlens export items --db feedback.duckdb --format csv --out items.csv"))
def export_group() -> None:
    """Export analysed data from the store."""


@export_group.command("items", epilog=examples("voxlens export items --db feedback.duckdb --format csv --out items.csv",
                                               "voxlens export items --db feedback.duckdb --format parquet --out items.parquet"))
@db_option
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "jsonl"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The file to write.")
def export_items_command(db: str, fmt: str, out: str) -> None:
    """Every analysed item: source, ids, date, text, language, rating, sentiment (label, score,
    probabilities, the model that scored it) and topic."""
    with open_db(db, read_only=True) as store:
        frame = items_frame(store)
    if frame.empty:
        raise VoxlensError(f"no analysed items in {db}: run `voxlens analyze --db {db}` first")
    write_items(frame, Path(out), fmt)
    click.echo(f"wrote {len(frame)} items to {out}")
