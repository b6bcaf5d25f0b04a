"""Credentials set in the environment never appear in output, reports, the store or error messages."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from voxlens.collectors.base import Ingest, ITEMS
from voxlens.collectors.files import RawRecord
from voxlens.core.privacy import mask_secrets, register_secret
from voxlens.core.store import TABLES, Store

SECRETS = {
    "praw_client_id": "fakeclientid7Q2",
    "praw_client_secret": "fake-praw-secret-9XQ2",
    "praw_password": "hunter2-fake-pw",
    "ZENDESK_TOKEN": "zd-fake-token-55AA",
    "ZENDESK_API_TOKEN": "zd-fake-api-token-66BB",
    "VOXLENS_REDDIT_CLIENT_SECRET": "fake-reddit-secret-77CC",
}


def scan(text: str, where: str) -> None:
    for name, value in SECRETS.items():
        assert value not in text, f"{name} leaked into {where}"


@pytest.mark.slow
def test_import_analyze_report_leak_no_credential_anywhere(tmp_path):
    from voxlens.sample.build import build

    build()["reviews"].head(80).to_csv(tmp_path / "reviews.csv", index=False)
    (tmp_path / "bad.jsonl").write_text('{"id": 1, "text": "fine"}\n{broken\n')
    db, out = str(tmp_path / "s.duckdb"), tmp_path / "out"
    env = {**os.environ, **SECRETS, "VOXLENS_DEBUG": ""}
    commands = [
        ["import", "reviews", str(tmp_path / "reviews.csv"), "--db", db],
        ["import", "reviews", str(tmp_path / "bad.jsonl"), "--db", db],
        ["import", "reviews", str(tmp_path / SECRETS["ZENDESK_TOKEN"] / "missing.csv"), "--db", db],  # error path
        ["analyze", "--db", db],
        ["issues", "--db", db, "--json"],
        *[["report", "--db", db, "--format", fmt, "--out", str(out / f"report.{fmt}")] for fmt in ("html", "md", "csv", "json")],
    ]
    for command in commands:
        result = subprocess.run([sys.executable, "-m", "voxlens", *command], capture_output=True, text=True,
                                env=env, timeout=600)
        scan(result.stdout + result.stderr, f"the output of voxlens {command[0]}")
        if "missing.csv" in command[2]:
            assert result.returncode == 2 and "***" in result.stderr  # the path is shown, its secret masked
        else:
            assert result.returncode == 0, result.stderr[-2000:]

    reports = sorted(out.iterdir())
    assert [p.name for p in reports] == ["report-drivers.csv", "report-metrics.csv", "report-topics.csv", "report.csv",
                                         "report.html", "report.json", "report.md"]
    for path in reports:
        scan(path.read_text(encoding="utf-8"), path.name)
    with Store(db, read_only=True) as store:
        assert store.count("scores") == 81  # 80 reviews + the good line of bad.jsonl
        for table in TABLES:
            scan(store.query(f"SELECT * FROM {table}").to_csv(), f"table {table}")
        scan(store.query("SELECT * FROM meta").to_csv(), "table meta")
    for path in Path(db).parent.glob("s.duckdb*"):
        scan(path.read_bytes().decode("latin-1"), path.name)


def test_a_failed_run_records_its_error_with_credentials_masked(store):
    def records():
        raise ConnectionError(f"GET https://x.zendesk.com/api?token={SECRETS['ZENDESK_TOKEN']} timed out")
        yield RawRecord("api:page 1", {"text": "fine"}, {"text": "fine"})

    def normalise(record):
        return []

    os.environ.update(ZENDESK_TOKEN=SECRETS["ZENDESK_TOKEN"])
    try:
        with pytest.raises(ConnectionError):
            Ingest(store, "zendesk").run([(ITEMS, records(), normalise)])
    finally:
        del os.environ["ZENDESK_TOKEN"]
    status, error = store.execute("SELECT status, error FROM runs")[0]
    assert status == "failed"
    assert error == "ConnectionError: GET https://x.zendesk.com/api?token=*** timed out"


def test_mask_secrets_covers_credential_names_and_registered_config_values():
    environ = {"PRAW_CLIENT_SECRET": "abcdef123", "HOME": "/root/abcdef123x", "MY_API_KEY": "k-123456"}
    register_secret("from-praw-ini-999")

    assert mask_secrets("s=abcdef123 k=k-123456 ini=from-praw-ini-999 home=/root", environ) == \
        "s=*** k=*** ini=*** home=/root"


@pytest.mark.parametrize("fault", [None, 401, 500, "malformed"])
def test_a_zendesk_run_leaks_its_token_nowhere_even_when_it_fails(store, monkeypatch, capsys, fault):
    from voxlens.collectors.zendesk import ZendeskSource
    from tests.fakes.zendesk import EMAIL, TOKEN, FakeZendesk, metric_set, ticket

    monkeypatch.setenv("ZENDESK_EMAIL", EMAIL)
    monkeypatch.setenv("ZENDESK_API_TOKEN", TOKEN)
    with FakeZendesk(page_size=1) as server:
        for n in (1, 2):
            server.put(ticket(n, f"2026-09-0{n}T08:00:00Z", "Order", "Payment failed"),
                       metric_set(n, reply_minutes=30, solved_at=None))
        if fault is not None:
            server.fail("/incremental/tickets", fault, times=-1, after=1)
        outcome = ZendeskSource(base_url=server.url, backoff=0, timeout=0.5, retries=1).run(store)
    assert outcome.ok == (fault is None), outcome.summary()
    printed = capsys.readouterr()
    for where, text in [("the run summary", outcome.summary()), ("output", printed.out + printed.err),
                        *[(f"table {t}", store.query(f"SELECT * FROM {t}").to_csv()) for t in TABLES]]:
        assert TOKEN not in text, f"the Zendesk token leaked into {where}"
