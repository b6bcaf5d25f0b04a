"""The ``voxlens`` command line: demo, import, analyze, issues, report.

Exit codes: 0 success, 1 unexpected error (a bug: the message says how to see the traceback),
2 bad input or unusable store (the message says what to do), 130 interrupted (re-run to resume).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from voxlens.cli_options import db_option, examples, open_db, parse_mapping
from voxlens.core.errors import VoxlensError

EXIT_UNEXPECTED, EXIT_INPUT, EXIT_INTERRUPTED = 1, 2, 130
# The command line shows its own progress bars, not the model libraries' ("Loading weights", downloads).
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


class VoxlensGroup(click.Group):
    """Print errors as one clear line with a meaningful exit code, never a traceback.

    Set ``VOXLENS_DEBUG=1`` to see the traceback of an unexpected error.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        load_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        load_commands()
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        from voxlens.core.privacy import mask_secrets

        try:
            return super().invoke(ctx)
        except VoxlensError as exc:
            click.secho(f"error: {mask_secrets(str(exc))}", fg="red", err=True)
            sys.exit(EXIT_INPUT)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            click.secho("interrupted: work committed so far is kept; run the command again to resume",
                        fg="yellow", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
            click.secho(f"error: cannot use {exc.filename}: {exc.strerror}; check the path and its permissions",
                        fg="red", err=True)
            sys.exit(EXIT_INPUT)
        except Exception as exc:  # a bug: say so briefly, keep the traceback one variable away
            if os.environ.get("VOXLENS_DEBUG"):
                raise
            click.secho(f"unexpected error ({type(exc).__name__}): {mask_secrets(str(exc))}\n"
                        "run again with VOXLENS_DEBUG=1 to see the traceback, and report it with that output",
                        fg="red", err=True)
            sys.exit(EXIT_UNEXPECTED)


@click.group(cls=VoxlensGroup, epilog=examples(
    "voxlens demo                                   # the whole flow on bundled sample data",
    "voxlens import reviews reviews.csv --db feedback.duckdb",
    "voxlens analyze --db feedback.duckdb",
    "voxlens report --db feedback.duckdb --out report.html",
    "",
    "Exit codes: 0 ok, 1 unexpected error, 2 bad input or store (the message says what to do),",
    "130 interrupted (run again to resume)."))
@click.version_option(package_name="voxlens")
@click.option("--wait", type=float, default=0.0, show_default=True, metavar="SECONDS",
              help="Wait this long for a store another voxlens process is using, instead of refusing at once.")
def main(wait: float) -> None:
    """voxlens: turn raw customer feedback into flagged, evidenced issues."""
    _show_library_messages()


class _EchoHandler(logging.Handler):
    """Log records as plain lines on the current stderr (looked up at each record)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


def _show_library_messages() -> None:
    """Show the packages' info messages (e.g. a one-time model export) and warnings on stderr."""
    for name in ("collectors", "metrics", "sentiment", "voxlens"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, _EchoHandler) for h in logger.handlers):
            logger.addHandler(_EchoHandler())
            logger.setLevel(logging.INFO)
            logger.propagate = False


@main.group(name="import", epilog=examples("voxlens import reviews reviews.csv --db feedback.duckdb",
                                            "voxlens import survey nps_export.csv --db feedback.duckdb"))
def import_group() -> None:
    """Import reviews/posts or survey exports from CSV or JSONL files."""


@import_group.command("reviews", epilog=examples(
    "voxlens import reviews app_reviews.csv --db feedback.duckdb",
    "voxlens import reviews export.csv --map text=Body --map created_at=Date --source appstore",
    "voxlens import reviews posts.jsonl --source reddit --channel r/parcelo"))
@click.argument("file", type=click.Path(dir_okay=False))
@db_option
@click.option("--source", default="reviews", show_default=True, help="Source name stored with each item.")
@click.option("--channel", default=None, help="Channel (app id, subreddit...); default: the file name.")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN",
              help="Name a column explicitly (fields: text, external_id, created_at, rating, lang, author, title, url, channel).")
@click.option("--rating-scale", default=5, show_default=True, help="Highest rating value.")
@click.option("--redact", is_flag=True, help="Replace e-mail addresses and phone numbers in stored text.")
def import_reviews_command(file: str, db: str, source: str, channel: str | None, mapping: tuple[str, ...],
                           rating_scale: int, redact: bool) -> None:
    """Import reviews or posts: needs a text column; id, created_at, rating, lang, author are optional."""
    from voxlens.collectors.reviews import import_reviews

    with open_db(db) as store:
        counts = import_reviews(store, file, source=source, channel=channel, mapping=parse_mapping(mapping),
                                rating_scale=rating_scale, progress=True, redact=redact)
    click.echo(f"{file}: {counts.summary()}")


@import_group.command("survey", epilog=examples(
    "voxlens import survey nps_export.csv --db feedback.duckdb",
    "voxlens import survey export.csv --map nps=Q1 --map text=Comment --ces-scale 5"))
@click.argument("file", type=click.Path(dir_okay=False))
@db_option
@click.option("--source", default="survey", show_default=True)
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN",
              help="Name a column explicitly (fields: external_id, submitted_at, nps, csat, ces, text, customer_id, segment, lang).")
@click.option("--csat-scale", default=5, show_default=True, type=click.Choice(["5", "7"]))
@click.option("--ces-scale", default=7, show_default=True, type=click.Choice(["5", "7"]))
@click.option("--redact", is_flag=True, help="Replace e-mail addresses and phone numbers in stored text.")
def import_survey_command(file: str, db: str, source: str, mapping: tuple[str, ...], csat_scale: str,
                          ces_scale: str, redact: bool) -> None:
    """Import survey responses (NPS 0–10, CSAT 1–5, CES 1–7); free text becomes linked items."""
    from voxlens.collectors.survey import import_survey

    with open_db(db) as store:
        counts = import_survey(store, file, source=source, mapping=parse_mapping(mapping),
                               csat_scale=int(csat_scale), ces_scale=int(ces_scale), progress=True, redact=redact)
    click.echo(f"{file}: {counts.summary()}")


@main.command(epilog=examples("voxlens analyze --db feedback.duckdb   # re-run after each import: only new items",
                              "voxlens analyze --db feedback.duckdb --fp32   # exact fp32 encoder (int8 is the default)",
                              "voxlens analyze --db feedback.duckdb --backfill   # replay detection over history",
                              "voxlens analyze --db feedback.duckdb --engine spark --spark-master local[2]"))
@db_option
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
              help="Where sentiment is scored: in this process, or on Apache Spark (pip install 'voxlens[spark]').")
@click.option("--spark-master", default=None, help="Spark master URL (default: spark-submit's, else local[*]).")
@click.option("--int8/--fp32", "quantize", default=True, show_default=True,
              help="Encoder weights: int8 (feed-forward outputs fp32) is faster on CPU at under half a macro-F1 "
                   "point (docs/performance.md); fp32 is the exact encoder.")
@click.option("--backfill", is_flag=True,
              help="Replay detection over every past day (the first analysis of a store does so by itself).")
def analyze(db: str, engine: str, spark_master: str | None, quantize: bool, backfill: bool) -> None:
    """Score sentiment and assign topics for every item not yet analysed, then detect issues.

    Detection runs on every day since its last run, so the issue log holds what a daily schedule would
    have produced; on a store with history the first analysis replays all of it.
    """
    from voxlens.pipeline import Pipeline
    from voxlens.ratings import store_sentiment_model

    with open_db(db) as store:
        if store.count("items") == 0:
            raise VoxlensError(f"the store {db} has no items: import some first (voxlens import reviews FILE)")
        sentiment = store_sentiment_model(store, progress=False, quantize=quantize)
        pipeline = Pipeline(store, sentiment=sentiment, progress=True)
        if engine == "spark":
            from voxlens.spark import SparkScorer

            click.echo(f"sentiment scored on Spark: {SparkScorer(master=spark_master).score(store, pipeline.sentiment)}")
        summary = pipeline.analyze()
        issues = pipeline.detect(backfill=backfill)
        note = pipeline.detection_note
        open_issues = int(store.execute("SELECT count(*) FROM issues WHERE coalesce(status, 'ongoing') "
                                        "NOT IN ('resolved', 'candidate')")[0][0])
    click.echo(f"{summary}; issues flagged {len(issues)}; open issues in the log {open_issues}")
    if note:
        click.echo(note)


@main.group(invoke_without_command=True, epilog=examples(
    "voxlens issues --db feedback.duckdb                 # open issues, with onset and status",
    "voxlens issues --all --since 2026-09-01 --db feedback.duckdb",
    "voxlens issues --as-of 2026-09-20 --db feedback.duckdb   # the log as it stood that day",
    "voxlens issues --db feedback.duckdb --json > issues.json",
    "voxlens issues forget 3f2a9c1e0b7d --db feedback.duckdb"))
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--all", "show_all", is_flag=True, help="Resolved issues too (default: open ones only).")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only issues seen on or after this day.")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD", help="The log as it stood on this day.")
@click.pass_context
def issues(ctx: click.Context, db: str, as_json: bool, show_all: bool, since: str | None, as_of: str | None) -> None:
    """List the issue log: open issues by default, most severe first, with onset and status."""
    if ctx.invoked_subcommand is not None:
        return
    from voxlens.report.data import issue_records
    from voxlens.core.store import DETECTION_NOTE

    for name, value in (("--since", since), ("--as-of", as_of)):
        _check_day(name, value)
    with open_db(db, read_only=True) as store:
        if store.count("items") == 0:
            raise VoxlensError(f"the store {db} has no items: import some first (voxlens import reviews FILE --db {db}), "
                               "then run voxlens analyze")
        records = issue_records(store, "all" if show_all else "open", since=since, as_of=as_of)
        note = store.get_meta(DETECTION_NOTE) or None
    if as_json:
        if note:
            click.echo(note, err=True)     # stdout stays a JSON array
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    if not records:
        click.echo(note or ("no issues logged (run voxlens analyze first if you have not)" if show_all
                            else "no open issues (voxlens issues --all lists resolved ones too)"))
    for rank, issue in enumerate(records, start=1):
        until = f"ended {issue['ended']}" if issue["ended"] else f"last seen {issue['last_seen']}"
        click.echo(f"{rank}. [{issue['severity']:.1f}] {issue['topic']['label']} — {issue['status']}, "
                   f"since {issue['onset']}, {until} ({', '.join(issue['facets']) or issue['kind']}) "
                   f"id {issue['issue_id']}")
        click.echo(f"     {issue['summary']}")
        for quote in issue["evidence"][:3]:
            click.echo(f"     “{quote['text'][:100]}”")


@issues.command("forget", epilog=examples("voxlens issues forget 3f2a9c1e0b7d --db feedback.duckdb"))
@click.argument("issue_id")
@db_option
def issues_forget(issue_id: str, db: str) -> None:
    """Delete one issue from the log (a later run may flag its theme anew)."""
    from voxlens.issues import IssueTracker, check_issue_id

    issue_id = check_issue_id(issue_id)
    with open_db(db) as store:
        if not IssueTracker(store).forget(issue_id):
            raise VoxlensError(f"no issue {issue_id!r} in the log of {db} (voxlens issues --all lists them)")
    click.echo(f"forgot issue {issue_id}")


def _check_day(name: str, value: str | None) -> None:
    if value is None:
        return
    try:
        from datetime import date

        date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a day: use YYYY-MM-DD", param_hint=name) from None


@main.command(epilog=examples(
    "voxlens report --db feedback.duckdb --out report.html",
    "voxlens report --format md --out issues.md --since 2026-09-01 --source appstore",
    "voxlens report --format csv --out out/issues.csv   # also out/issues-topics.csv, -metrics.csv, -drivers.csv",
    "voxlens report --format json --out report.json --segment plus --segment business"))
@db_option
@click.option("--format", "fmt", type=click.Choice(["html", "md", "csv", "json"]), default=None,
              help="Output format  [default: from the --out extension, else html]")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output file.")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="First day covered (inclusive).")
@click.option("--until", default=None, metavar="YYYY-MM-DD", help="Last day covered (inclusive).")
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable), e.g. appstore.")
@click.option("--segment", "segments", multiple=True, help="Only survey answers of this segment (repeatable).")
def report(db: str, fmt: str | None, out: str, since: str | None, until: str | None, sources: tuple[str, ...],
           segments: tuple[str, ...]) -> None:
    """Write an issue report: HTML (plots, one self-contained file), Markdown, CSV or JSON.

    Without --since/--until, metrics compare the last 30 days with the 30 before; with them, the
    period is compared with one of equal length just before it.
    """
    from voxlens.report import FORMATS, ReportData, ReportFilter, write_report

    if fmt is None:
        suffix = Path(out).suffix.lstrip(".").lower()
        fmt = {"markdown": "md", "htm": "html"}.get(suffix, suffix) if suffix else "html"
        if fmt not in FORMATS:
            raise click.BadParameter(f"cannot tell the format from {out!r}: add --format html|md|csv|json",
                                     param_hint="--format")
    filters = ReportFilter(since=since, until=until, sources=sources, segments=segments)
    with open_db(db, read_only=True) as store:
        data = ReportData.from_store(store, filters)
        path = write_report(store, fmt, out, filters=filters, data=data)
    click.echo(f"report written to {path.resolve()}")
    if fmt == "csv":
        for suffix in ("topics", "metrics", "drivers"):
            click.echo(f"  and {path.with_name(f'{path.stem}-{suffix}{path.suffix}').resolve()}")


@main.command(epilog=examples("voxlens demo", "voxlens demo --db /tmp/demo.duckdb --out /tmp/voxlens-report"))
@click.option("--db", default="voxlens-demo.duckdb", show_default=True, type=click.Path(dir_okay=False))
@click.option("--out", default="voxlens-report", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the reports.")
def demo(db: str, out: str) -> None:
    """Run the whole flow on the bundled SAMPLE data (a fictional product) and write the reports."""
    from voxlens.demo import run_demo

    paths = run_demo(db, out, echo=click.echo)
    click.echo(f"\nOpen the report: {paths['html'].resolve()}")


def load_commands() -> None:
    """Add the commands defined in other modules (once).

    They import what they share with this module from :mod:`voxlens.cli_options`, never this module; they
    are added on first use so that ``voxlens --help`` imports no more than it shows. Register a new
    module's commands here.
    """
    global _commands_loaded
    if _commands_loaded:
        return
    _commands_loaded = True
    from voxlens.cli_metrics import drivers_command, import_customers_command, metrics_command, topics_command

    for command in (metrics_command, topics_command, drivers_command):
        main.add_command(command)
    import_group.add_command(import_customers_command)

    from voxlens.cli_privacy import forget_command
    from voxlens.cli_sentiment import export_group, tune_command

    main.add_command(tune_command)
    main.add_command(export_group)

    main.add_command(forget_command)

    from voxlens.cli_collect import collect, quarantine, schedule, status

    main.add_command(collect)
    main.add_command(schedule)
    main.add_command(status)
    main.add_command(quarantine)


_commands_loaded = False

if __name__ == "__main__":
    main()
