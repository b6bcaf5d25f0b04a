"""``voxlens metrics``, ``voxlens topics``, ``voxlens drivers`` and ``voxlens import customers``.

Example:
    voxlens metrics --by week --segment segment --db feedback.duckdb
    voxlens metrics --kind business --by month --db feedback.duckdb
"""

from __future__ import annotations

import click
import pandas as pd

from voxlens.cli_options import db_option, open_db
from voxlens.core.errors import VoxlensError

def _echo_frame(frame: pd.DataFrame, fmt: str) -> None:
    if fmt == "json":
        click.echo(frame.to_json(orient="records", date_format="iso", force_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    elif frame.empty:
        click.echo("no data")
    else:
        with pd.option_context("display.max_rows", 500, "display.max_columns", 50, "display.width", 200):
            click.echo(frame.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


def _format_option(command):
    return click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                        show_default=True)(command)


@click.command("metrics", epilog="Example: voxlens metrics --by week --segment segment --format csv")
@db_option
@click.option("--kind", type=click.Choice(["survey", "tickets", "business"]), default="survey", show_default=True,
              help="survey: NPS/CSAT/CES; tickets: response and resolution times, reopen rate; "
                   "business: retention, churn, NRR, CLV from imported subscriptions.")
@click.option("--by", "period", type=click.Choice(["day", "week", "month"]), default="week", show_default=True)
@click.option("--segment", default=None, help="Column to split by (survey: segment; business: segment).")
@click.option("--gross-margin", default=1.0, show_default=True, help="Gross margin used for CLV.")
@_format_option
def metrics_command(db: str, kind: str, period: str, segment: str | None, gross_margin: float, fmt: str) -> None:
    """Metrics by period (and segment), with 95% intervals and change p-values."""
    from voxlens.collectors.subscriptions import stored_subscriptions
    from voxlens.metrics.business import business_by_period
    from voxlens.metrics.periods import survey_by_period, tickets_by_period

    with open_db(db, read_only=True) as store:
        if kind == "survey":
            frame = store.query("SELECT * FROM responses")
            if frame.empty:
                raise VoxlensError(f"no survey responses in {db}: voxlens import survey FILE --db {db}")
            table = survey_by_period(frame, by=period, segment=segment)
        elif kind == "tickets":
            frame = store.query("SELECT * FROM tickets")
            if frame.empty:
                raise VoxlensError(f"no tickets in {db}: collect or import tickets first")
            table = tickets_by_period(frame, by=period, segment=segment)
        else:
            subscriptions = stored_subscriptions(store)
            if subscriptions is None:
                raise VoxlensError(f"no subscriptions in {db}: voxlens import customers FILE --db {db}")
            table = business_by_period(subscriptions, by=period, segment=segment, gross_margin=gross_margin)
    _echo_frame(table, fmt)


@click.command("customers", epilog="Example: voxlens import customers subscriptions.csv --db feedback.duckdb")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@db_option
def import_customers_command(file: str, db: str) -> None:
    """Import a subscriptions CSV: customer_id, period, revenue (and optionally segment), one row per period."""
    from voxlens.collectors.subscriptions import import_subscriptions

    with open_db(db) as store:
        stored = import_subscriptions(store, file)
    click.echo(f"{file}: {stored} customer-period rows stored")


@click.command("topics", epilog="Example: voxlens topics --format csv > topics.csv")
@db_option
@_format_option
def topics_command(db: str, fmt: str) -> None:
    """Per topic: volume, share, net sentiment, NPS/CSAT/CES with and without it, impact on NPS."""
    from voxlens.metrics.joins import topic_metrics

    with open_db(db, read_only=True) as store:
        items, responses, info = _analysed(store)
    table = info.merge(topic_metrics(items, responses), on="topic_id", how="right")
    _echo_frame(table, fmt)


@click.command("drivers", epilog="Example: voxlens drivers --target csat")
@db_option
@click.option("--target", type=click.Choice(["nps", "csat", "ces"]), default="nps", show_default=True)
@_format_option
def drivers_command(db: str, target: str, fmt: str) -> None:
    """Key drivers: which topics and sentiments explain score differences (regression, 95% intervals)."""
    from voxlens.metrics.drivers import key_drivers

    with open_db(db, read_only=True) as store:
        items, responses, info = _analysed(store)
    table = key_drivers(items, responses, target=target)
    table.insert(1, "label", table["topic_id"].map(dict(zip(info["topic_id"], info["label"]))))
    _echo_frame(table, fmt)


def _analysed(store) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    items = store.query("SELECT i.item_id, i.response_id, s.label, s.score, t.topic_id FROM items i "
                        "JOIN scores s USING (item_id) JOIN topics t USING (item_id)")
    if items.empty:
        raise VoxlensError("no analysed items: run voxlens analyze first")
    responses = store.query("SELECT * FROM responses")
    info = store.query("SELECT topic_id, label FROM topic_info")
    return items, responses, info
