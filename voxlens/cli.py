"""The ``voxlens`` command line: demo, import, analyze, issues, report.

Exit codes: 0 success, 1 unexpected error, 2 bad input or unusable store (message says what to do).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from voxlens.errors import VoxlensError

DEFAULT_DB = "voxlens.duckdb"


def db_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--db", "db", default=DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False),
                        help="The DuckDB store file.")(command)


def _open(db: str, read_only: bool = False):
    from voxlens.store import Store

    if read_only and not Path(db).exists():
        raise VoxlensError(f"no store at {db}: import data first (voxlens import reviews FILE --db {db})")
    return Store(db, read_only=read_only)


def _parse_mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r}: use FIELD=COLUMN, e.g. --map text=Body", param_hint="--map")
        field, column = pair.split("=", 1)
        mapping[field.strip()] = column
    return mapping


class VoxlensGroup(click.Group):
    """Print voxlens errors as one clear line with exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VoxlensError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=VoxlensGroup, epilog="Example: voxlens demo   (runs the whole flow on bundled sample data)")
@click.version_option(package_name="voxlens")
def main() -> None:
    """voxlens: turn raw customer feedback into flagged, evidenced issues."""


@main.group(name="import", epilog="Example: voxlens import reviews reviews.csv --db feedback.duckdb")
def import_group() -> None:
    """Import reviews/posts or survey exports from CSV or JSONL files."""


@import_group.command("reviews", epilog="Example: voxlens import reviews app_reviews.csv --map text=Body --source appstore")
@click.argument("file", type=click.Path(dir_okay=False))
@db_option
@click.option("--source", default="reviews", show_default=True, help="Source name stored with each item.")
@click.option("--channel", default=None, help="Channel (app id, subreddit...); default: the file name.")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN",
              help="Name a column explicitly (fields: text, external_id, created_at, rating, lang, author, title, url, channel).")
@click.option("--rating-scale", default=5, show_default=True, help="Highest rating value.")
def import_reviews_command(file: str, db: str, source: str, channel: str | None, mapping: tuple[str, ...],
                           rating_scale: int) -> None:
    """Import reviews or posts: needs a text column; id, created_at, rating, lang, author are optional."""
    from collectors.reviews import import_reviews

    with _open(db) as store:
        counts = import_reviews(store, file, source=source, channel=channel, mapping=_parse_mapping(mapping),
                                rating_scale=rating_scale, progress=True)
    click.echo(f"{file}: {counts.summary()}")


@import_group.command("survey", epilog="Example: voxlens import survey nps_export.csv --map nps=Q1 --ces-scale 5")
@click.argument("file", type=click.Path(dir_okay=False))
@db_option
@click.option("--source", default="survey", show_default=True)
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN",
              help="Name a column explicitly (fields: external_id, submitted_at, nps, csat, ces, text, customer_id, segment, lang).")
@click.option("--csat-scale", default=5, show_default=True, type=click.Choice(["5", "7"]))
@click.option("--ces-scale", default=7, show_default=True, type=click.Choice(["5", "7"]))
def import_survey_command(file: str, db: str, source: str, mapping: tuple[str, ...], csat_scale: str,
                          ces_scale: str) -> None:
    """Import survey responses (NPS 0–10, CSAT 1–5, CES 1–7); free text becomes linked items."""
    from collectors.survey import import_survey

    with _open(db) as store:
        counts = import_survey(store, file, source=source, mapping=_parse_mapping(mapping),
                               csat_scale=int(csat_scale), ces_scale=int(ces_scale), progress=True)
    click.echo(f"{file}: {counts.summary()}")


@main.command(epilog="Example: voxlens analyze --db feedback.duckdb   (or --engine spark --spark-master local[2])")
@db_option
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
              help="Where sentiment is scored: in this process, or on Apache Spark (pip install 'voxlens[spark]').")
@click.option("--spark-master", default=None, help="Spark master URL (default: spark-submit's, else local[*]).")
def analyze(db: str, engine: str, spark_master: str | None) -> None:
    """Score sentiment and assign topics for every item not yet analysed, then detect issues."""
    from voxlens.pipeline import Pipeline

    with _open(db) as store:
        if store.count("items") == 0:
            raise VoxlensError(f"the store {db} has no items: import some first (voxlens import reviews FILE)")
        pipeline = Pipeline(store, progress=True)
        if engine == "spark":
            from voxlens.spark import SparkScorer

            click.echo(f"sentiment scored on Spark: {SparkScorer(master=spark_master).score(store, pipeline.sentiment)}")
        summary = pipeline.analyze()
        issues = pipeline.detect()
    click.echo(f"{summary}; issues flagged {len(issues)}")


@main.command(epilog="Example: voxlens issues --json > issues.json")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def issues(db: str, as_json: bool) -> None:
    """List flagged issues, most severe first."""
    from voxlens.report.data import issue_records

    with _open(db, read_only=True) as store:
        records = issue_records(store)
    if as_json:
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    if not records:
        click.echo("no issues flagged (run voxlens analyze first if you have not)")
    for rank, issue in enumerate(records, start=1):
        click.echo(f"{rank}. [{issue['severity']:.1f}] {issue['topic']['label']} — {issue['kind']} "
                   f"{issue['start']}..{issue['end']}: {issue['summary']}")
        for quote in issue["evidence"][:3]:
            click.echo(f"     “{quote['text'][:100]}”")


@main.command(epilog="Example: voxlens report --format html --out report.html")
@db_option
@click.option("--format", "fmt", type=click.Choice(["html", "md", "csv", "json"]), default="html", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output file.")
def report(db: str, fmt: str, out: str) -> None:
    """Write an issue report: HTML (with plots), Markdown, CSV or JSON."""
    from voxlens.report import write_report

    with _open(db, read_only=True) as store:
        path = write_report(store, fmt, out)
    click.echo(f"report written to {path.resolve()}")


@main.command(epilog="Example: voxlens demo --out voxlens-report")
@click.option("--db", default="voxlens-demo.duckdb", show_default=True, type=click.Path(dir_okay=False))
@click.option("--out", default="voxlens-report", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the reports.")
def demo(db: str, out: str) -> None:
    """Run the whole flow on the bundled SAMPLE data (a fictional product) and write the reports."""
    from voxlens.demo import run_demo

    paths = run_demo(db, out, echo=click.echo)
    click.echo(f"\nOpen the report: {paths['html'].resolve()}")


from voxlens.cli_collect import collect, schedule, status  # noqa: E402

main.add_command(collect)
main.add_command(schedule)
main.add_command(status)

if __name__ == "__main__":
    main()
