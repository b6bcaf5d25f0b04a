"""``voxlens collect``, ``voxlens schedule`` and ``voxlens status``: collectors from the command line.

Each collect command prints one line per source: new, updated, quarantined, errors. It exits with
code 2 when a source failed (its partial progress is kept; the next run resumes).
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from voxlens.cli_options import db_option, open_db
from voxlens.core.errors import VoxlensError

CONFIG_HELP = "The voxlens.toml with [sources.NAME] and [jobs.NAME] (see README: Collectors and schedule)."


def _run_one(db: str, source: Any) -> None:
    with open_db(db) as store:
        outcome = source.run(store, progress=True)
    click.echo(outcome.summary())
    if not outcome.ok:
        sys.exit(2)


def redact_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--redact", is_flag=True, help="Replace e-mail addresses and phone numbers in text.")(command)


@click.group("collect", invoke_without_command=True,
             epilog="Examples: voxlens collect --config voxlens.toml\n\n"
                    "          voxlens collect reddit --subreddit parcelo --query payment --comments")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.pass_context
def collect(ctx: click.Context, config_path: str | None) -> None:
    """Collect new feedback from one source, or (with --config) from every configured source once."""
    if ctx.invoked_subcommand is not None:
        return
    if config_path is None:
        click.echo(ctx.get_help())
        ctx.exit(2)
    from voxlens.config import load_config
    from voxlens.schedule import collect_sources, open_store

    config = load_config(config_path)
    with open_store(config.db, config.store_wait, click.echo) as store:
        outcomes = collect_sources(store, config.build_sources(), progress=True, echo=click.echo)
    failed = [o for o in outcomes if not o.ok]
    click.echo(f"{len(outcomes)} source(s) collected, {len(failed)} failed")
    if failed:
        sys.exit(2)


@collect.command("reddit", epilog="Example: voxlens collect reddit --subreddit parcelo --query 'payment' --comments")
@click.option("--subreddit", required=True, help="Subreddit name, without r/.")
@click.option("--query", default=None, help="Search query; default: the newest submissions.")
@click.option("--comments", is_flag=True, help="Also collect each new submission's comments.")
@click.option("--revisit-days", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="With --comments, re-read comments of submissions up to this many days older than the last run's newest.")
@click.option("--limit", default=100, show_default=True, help="Most submissions read per run.")
@click.option("--site", default="DEFAULT", show_default=True, help="praw.ini site with credentials.")
@db_option
@redact_option
def collect_reddit(subreddit: str, query: str | None, comments: bool, revisit_days: float, limit: int, site: str,
                   db: str, redact: bool) -> None:
    """Reddit submissions through praw (credentials from praw.ini or praw_client_id/praw_client_secret)."""
    from voxlens.collectors.reddit import RedditSource

    _run_one(db, RedditSource(subreddit, query=query, comments=comments, revisit_days=revisit_days, limit=limit,
                              site=site, redact=redact))


@collect.command("appstore", epilog="Example: voxlens collect appstore --app-id 1234567890 --country pl")
@click.option("--app-id", required=True, help="Numeric App Store id.")
@click.option("--country", default="us", show_default=True)
@click.option("--base-url", default="https://itunes.apple.com", show_default=True)
@db_option
@redact_option
def collect_appstore(app_id: str, country: str, base_url: str, db: str, redact: bool) -> None:
    """Apple App Store customer reviews with star ratings."""
    from voxlens.collectors.appstore import AppStoreSource

    _run_one(db, AppStoreSource(app_id, country=country, base_url=base_url, redact=redact))


@collect.command("googleplay", epilog="Example: voxlens collect googleplay --app-id com.parcelo.app --lang pl --country pl")
@click.option("--app-id", required=True, help="Android package name.")
@click.option("--lang", default="en", show_default=True)
@click.option("--country", default="us", show_default=True)
@click.option("--max-reviews", default=1000, show_default=True)
@click.option("--base-url", default="https://play.google.com", show_default=True)
@db_option
@redact_option
def collect_googleplay(app_id: str, lang: str, country: str, max_reviews: int, base_url: str, db: str,
                       redact: bool) -> None:
    """Google Play reviews with star ratings, newest first."""
    from voxlens.collectors.googleplay import GooglePlaySource

    _run_one(db, GooglePlaySource(app_id, lang=lang, country=country, max_reviews=max_reviews,
                                  base_url=base_url, redact=redact))


@collect.command("rss", epilog="Example: voxlens collect rss --url https://forum.example.com/latest.rss --source forum")
@click.option("--url", required=True, help="RSS or Atom feed URL.")
@click.option("--source", default="rss", show_default=True, help="Source name stored with each item.")
@db_option
@redact_option
def collect_rss(url: str, source: str, db: str, redact: bool) -> None:
    """RSS/Atom feeds: forums, review sites, status pages."""
    from voxlens.collectors.rss import RssSource

    _run_one(db, RssSource(url, source=source, redact=redact))


@collect.command("zendesk", epilog="Example: ZENDESK_EMAIL=... ZENDESK_API_TOKEN=... voxlens collect zendesk --subdomain parcelo")
@click.option("--subdomain", default=None, help="The account: https://SUBDOMAIN.zendesk.com.")
@click.option("--base-url", default=None, help="API base URL instead of --subdomain.")
@click.option("--start-time", default=0, show_default=True, help="Epoch seconds of the first export.")
@db_option
@redact_option
def collect_zendesk(subdomain: str | None, base_url: str | None, start_time: int, db: str, redact: bool) -> None:
    """Zendesk tickets (incremental export) with first-response/solved times, reopens and tags."""
    from voxlens.collectors.zendesk import ZendeskSource

    _run_one(db, ZendeskSource(subdomain, base_url=base_url, start_time=start_time, redact=redact))


@collect.command("survey", epilog="Example: voxlens collect survey qualtrics_export.csv")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--source", default="survey", show_default=True)
@db_option
def collect_survey(file: str, source: str, db: str) -> None:
    """A Qualtrics, SurveyMonkey, Typeform or Google Forms CSV export (the tool is detected)."""
    from voxlens.config import FileImport

    _run_one(db, FileImport("survey", file, source=source))


@collect.command("tickets", epilog="Example: voxlens collect tickets tickets_export.csv --redact")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--source", default="tickets", show_default=True)
@db_option
@redact_option
def collect_tickets(file: str, source: str, db: str, redact: bool) -> None:
    """A support-ticket CSV export (id, created, first reply, solved, reopens, tags, subject, text)."""
    from voxlens.config import FileImport

    _run_one(db, FileImport("tickets", file, source=source, redact=redact))


@click.command("schedule", epilog="Example: voxlens schedule --config voxlens.toml")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--run-now", "run_now", default=None, metavar="JOB", help="Run this job once now and exit.")
def schedule(config_path: str, run_now: str | None) -> None:
    """Run the configured jobs on their cron triggers until stopped (Ctrl+C)."""
    from voxlens.config import load_config
    from voxlens.schedule import build_scheduler, run_job

    config = load_config(config_path)
    if run_now is not None:
        if run_now not in config.jobs:
            raise VoxlensError(f"no job named {run_now!r} in {config_path}; jobs are {', '.join(config.jobs)}")
        result = run_job(config, config.jobs[run_now], progress=True, echo=click.echo)
        sys.exit(0 if result.ok else 2)
    if not config.jobs:
        raise VoxlensError(f"{config_path} has no [jobs.NAME] section; add one with cron = \"0 * * * *\"")
    scheduler = build_scheduler(config, echo=click.echo)
    for job in scheduler.get_jobs():
        click.echo(f"job {job.name}: {job.trigger}")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("scheduler stopped")


@click.command("quarantine", epilog="Example: voxlens quarantine --source reviews --csv quarantined.csv")
@db_option
@click.option("--source", default=None, help="Only this source, as the list names it (import-reviews, reddit, ...).")
@click.option("--csv", "csv_path", default=None, type=click.Path(dir_okay=False),
              help="Write every row, with its full raw content, to this CSV file.")
@click.option("--limit", default=20, show_default=True, help="Rows to print.")
def quarantine(db: str, source: str | None, csv_path: str | None, limit: int) -> None:
    """Rows set aside on import or collection, each with its reason (repeats across runs shown once)."""
    from voxlens.core.privacy import spreadsheet_safe
    from voxlens.status import quarantined_rows

    with open_db(db, read_only=True) as store:
        table = quarantined_rows(store, source)
    if table.empty:
        click.echo("nothing is quarantined" + (f" for source {source!r}" if source else ""))
        return
    if csv_path:
        table.map(spreadsheet_safe).to_csv(csv_path, index=False)
        click.echo(f"{len(table)} quarantined rows written to {csv_path}")
    shown = table.head(limit).assign(raw=table["raw"].head(limit).str.slice(0, 60))
    click.echo(shown.astype(object).where(shown.notna(), "").to_string(index=False))
    if len(table) > limit:
        click.echo(f"... {len(table) - limit} more (--limit, or --csv for all)")


@click.command("status", epilog="Example: voxlens status --db feedback.duckdb")
@db_option
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False),
              help="Take the store from this config file.")
def status(db: str, config_path: str | None) -> None:
    """Each source's last success, item counts and last error."""
    from voxlens.status import source_status

    if config_path:
        from voxlens.config import load_config

        db = load_config(config_path).db
    with open_db(db, read_only=True) as store:
        table = source_status(store)
    if table.empty:
        click.echo("no collector has run on this store yet")
        return
    click.echo(table.astype(object).where(table.notna(), "").to_string(index=False))
