"""Config file, `voxlens collect --config`, `voxlens status`, the scheduler and its lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fakes.reddit import CLIENT_ID, CLIENT_SECRET, FakeReddit, post
from tests.fakes.stores import FakeAppleFeed, apple_entry
from tests.fakes.zendesk import EMAIL, TOKEN, FakeZendesk, metric_set, ticket
from voxlens.cli import main
from voxlens.config import load_config
from voxlens.core.errors import ConfigError
from voxlens.schedule import build_scheduler, lock_path, run_job
from voxlens.core.store import Store

SURVEYS = Path(__file__).parent / "fixtures" / "surveys"


def write_config(tmp_path: Path, apple_url: str, zendesk_url: str, extra: str = "") -> Path:
    path = tmp_path / "voxlens.toml"
    path.write_text(textwrap.dedent(f"""
        [store]
        db = "feedback.duckdb"
        wait = 1

        [defaults]
        redact = true
        backoff = 0
        retries = 1

        [sources.ios-pl]
        type = "appstore"
        app_id = "1234567890"
        country = "pl"
        base_url = "{apple_url}"

        [sources.helpdesk]
        type = "zendesk"
        base_url = "{zendesk_url}"

        [sources.nps-q3]
        type = "survey"
        path = "{SURVEYS / 'qualtrics.csv'}"

        [jobs.hourly]
        cron = "5 * * * *"
        steps = ["collect", "report"]
        report = "reports/feedback.md"
        {extra}
    """))
    return path


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.setenv("ZENDESK_EMAIL", EMAIL)
    monkeypatch.setenv("ZENDESK_API_TOKEN", TOKEN)
    entries = [apple_entry(f"9{n}", f"2026-09-1{n}T10:00:00Z", 2, f"T{n}", f"Payment failed, call +48 512 345 67{n}")
               for n in range(3)]
    with FakeAppleFeed(entries) as apple, FakeZendesk() as zendesk:
        zendesk.put(ticket(1, "2026-09-01T08:00:00Z", "Card declined", "Card declined twice"),
                    metric_set(1, reply_minutes=30, solved_at=None))
        yield apple, zendesk


def test_collect_with_config_runs_every_source_once_and_status_shows_them(tmp_path, fakes):
    apple, zendesk = fakes
    config = write_config(tmp_path, apple.url, zendesk.url)
    runner = CliRunner()
    first = runner.invoke(main, ["collect", "--config", str(config)])
    assert first.exit_code == 0, first.output
    assert "appstore pl/1234567890: 3 new, 0 updated, 0 quarantined, 0 errors" in first.output
    assert "zendesk " in first.output and "survey qualtrics.csv: 2 new, 0 updated, 1 quarantined" in first.output
    second = runner.invoke(main, ["collect", "--config", str(config)])
    assert "3 source(s) collected, 0 failed" in second.output
    assert second.output.count(": 0 new, 0 updated") == 3  # re-runs add nothing
    with Store(tmp_path / "feedback.duckdb") as store:
        assert store.query("SELECT count(*) FROM items WHERE text LIKE '%[phone]%'").iloc[0, 0] == 3
    status = runner.invoke(main, ["status", "--config", str(config)])
    assert status.exit_code == 0
    assert "appstore" in status.output and "zendesk" in status.output and "import-survey" in status.output


def test_a_failing_source_is_reported_and_the_others_still_run(tmp_path, fakes):
    apple, zendesk = fakes
    zendesk.fail("/incremental", 500, times=-1)
    result = CliRunner().invoke(main, ["collect", "--config", str(write_config(tmp_path, apple.url, zendesk.url))])
    assert result.exit_code == 2
    assert "1 errors" in result.output and "failed: GET" in result.output and "answered 500" not in result.output
    assert "appstore pl/1234567890: 3 new" in result.output
    status = CliRunner().invoke(main, ["status", "--db", str(tmp_path / "feedback.duckdb")])
    assert "kept failing after 1 retries" in status.output


def test_collect_reddit_command_uses_praw_ini(tmp_path, monkeypatch):
    with FakeReddit([post("a1", "Courier never came", "Waited all day", 1_790_000_000.0)]) as fake:
        (tmp_path / "praw.ini").write_text(f"[DEFAULT]\nreddit_url={fake.url}\noauth_url={fake.url}\n")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("praw_client_id", CLIENT_ID)
        monkeypatch.setenv("praw_client_secret", CLIENT_SECRET)
        monkeypatch.setenv("PRAW_ALLOW_ENDPOINT_OVERRIDE", "1")
        monkeypatch.setattr("praw.config.Config.CONFIG", None)
        result = CliRunner().invoke(main, ["collect", "reddit", "--subreddit", "parcelo", "--db", "f.duckdb"])
    assert result.exit_code == 0, result.output
    assert "reddit r/parcelo: 1 new, 0 updated, 0 quarantined, 0 errors" in result.output


def test_config_errors_name_the_setting(tmp_path):
    path = tmp_path / "voxlens.toml"
    path.write_text('[sources.a]\ntype = "appstore"\napp_id = "1"\ncountri = "pl"\n')
    with pytest.raises(ConfigError, match="unknown option.*countri.*country"):
        load_config(path)
    path.write_text('[sources.a]\ntype = "twitter"\n')
    with pytest.raises(ConfigError, match="type = one of reddit"):
        load_config(path)
    path.write_text('[sources.a]\ntype = "rss"\nurl = "https://x.example/feed"\n[jobs.j]\ncron = "61 * * * *"\nsteps = ["collect"]\n')
    with pytest.raises(ConfigError, match="not a crontab expression"):
        build_scheduler(load_config(path), blocking=False)


def test_the_scheduler_triggers_jobs_on_their_cron_and_records_each_run(tmp_path, fakes):
    apple, zendesk = fakes
    config = load_config(write_config(tmp_path, apple.url, zendesk.url))
    scheduler = build_scheduler(config, blocking=False)
    (job,) = scheduler.get_jobs()
    assert job.id == "hourly" and str(job.trigger).startswith("cron[month='*', day='*', day_of_week='*', hour='*', minute='5'")
    messages: list[str] = []
    result = run_job(config, config.jobs["hourly"], echo=messages.append)
    assert result.ok and result.steps == ["collect", "report"]
    assert (tmp_path / "reports" / "feedback.md").read_text().startswith("# voxlens issue report")
    with Store(config.db) as store:
        run = store.query("SELECT status, rows_new FROM runs WHERE collector = 'job'").iloc[0]
    assert (run["status"], run["rows_new"]) == ("ok", 3 + 1 + 2)


HOLDER = """
import sys, time
from filelock import FileLock
from voxlens.core.store import Store
lock = FileLock(sys.argv[1]); lock.acquire()
store = Store(sys.argv[2])
print("holding", flush=True)
time.sleep(float(sys.argv[3]))
"""


def test_a_second_process_does_not_run_the_same_job_and_waits_for_the_store(tmp_path, fakes):
    apple, zendesk = fakes
    config = load_config(write_config(tmp_path, apple.url, zendesk.url,
                                      extra='[jobs.nightly]\ncron = "0 3 * * *"\nsteps = ["collect"]\n'))
    Store(config.db).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, lock_path(config, "hourly"), config.db, "2.5"],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    try:
        assert holder.stdout.readline().strip() == "holding"
        skipped = run_job(config, config.jobs["hourly"], echo=lambda _: None)
        assert skipped.skipped and "already running in another process" in skipped.skipped
        busy = run_job(config, config.jobs["nightly"], echo=lambda _: None)  # waits `wait = 1` s, then gives up
        assert not busy.ok and "stayed in use by another process" in busy.errors[0]
        holder.wait(timeout=10)
        later = run_job(config, config.jobs["nightly"], echo=lambda _: None)
        assert later.ok and sum(o.counts.new for o in later.outcomes) == 6
    finally:
        holder.kill()


def test_the_collectors_page_sample_config_names_every_source_and_loads(tmp_path):
    page = (Path(__file__).parent.parent / "docs" / "collectors.md").read_text()
    sample = page.split("### Sample `voxlens.toml` (every source)\n\n```toml\n", 1)[1].split("```", 1)[0]
    exports = tmp_path / "exports"
    exports.mkdir()
    (tmp_path / "voxlens.toml").write_text(sample)
    config = load_config(tmp_path / "voxlens.toml")
    kinds = {options["type"] for options in config.sources.values()}
    assert kinds == {"reddit", "appstore", "googleplay", "rss", "zendesk", "survey", "tickets"}
    assert [type(s).__name__ for s in config.build_sources(["reddit-parcelo", "helpdesk"])] == ["RedditSource", "ZendeskSource"]
    scheduler = build_scheduler(config, blocking=False)
    assert sorted(job.id for job in scheduler.get_jobs()) == ["hourly", "nightly"]


def test_the_readme_config_loads_and_schedules_its_job(tmp_path):
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    (tmp_path / "voxlens.toml").write_text(readme.split("```toml\n", 1)[1].split("```", 1)[0])
    config = load_config(tmp_path / "voxlens.toml")
    assert [type(s).__name__ for s in config.build_sources()] == ["RedditSource", "GooglePlaySource"]
    assert [job.id for job in build_scheduler(config, blocking=False).get_jobs()] == ["nightly"]


def test_schedule_run_now_runs_one_job_and_exits(tmp_path, fakes):
    apple, zendesk = fakes
    config = write_config(tmp_path, apple.url, zendesk.url)
    result = CliRunner().invoke(main, ["schedule", "--config", str(config), "--run-now", "hourly"])
    assert result.exit_code == 0, result.output
    assert "appstore pl/1234567890: 3 new" in result.output and "report written to" in result.output
    unknown = CliRunner().invoke(main, ["schedule", "--config", str(config), "--run-now", "weekly"])
    assert unknown.exit_code == 2 and "no job named 'weekly'" in unknown.output


def test_a_started_scheduler_fires_the_job_through_apscheduler(tmp_path, fakes):
    from datetime import datetime, timezone

    apple, zendesk = fakes
    config = load_config(write_config(tmp_path, apple.url, zendesk.url))
    messages: list[str] = []
    scheduler = build_scheduler(config, echo=messages.append, blocking=False)
    scheduler.start()
    try:
        scheduler.get_job("hourly").modify(next_run_time=datetime.now(timezone.utc))  # fire now, not at :05
        deadline = time.monotonic() + 20
        while not any(m.startswith("report written") for m in messages) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert any(m.startswith("appstore pl/1234567890: 3 new") for m in messages)
    with Store(config.db) as store:
        assert store.query("SELECT status FROM runs WHERE collector = 'job'")["status"].tolist() == ["ok"]
