"""Zendesk incremental export against a local fake: paging, metrics, faults, resume, updates."""

from __future__ import annotations

import pandas as pd
import pytest

from voxlens.collectors.zendesk import ZendeskSource
from tests.fakes.zendesk import EMAIL, TOKEN, FakeZendesk, metric_set, ticket
from voxlens.core.errors import ConfigError


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("ZENDESK_EMAIL", EMAIL)
    monkeypatch.setenv("ZENDESK_API_TOKEN", TOKEN)
    with FakeZendesk(page_size=2) as server:
        for n in range(1, 6):
            server.put(ticket(n, f"2026-09-0{n}T08:00:00Z", f"Order {n}", f"Payment failed, call me at +48 512 345 67{n}",
                              status="solved", tags=["payment", "app"]),
                       metric_set(n, reply_minutes=90, solved_at=f"2026-09-0{n}T20:00:00Z", reopens=n % 2))
        yield server


def source(fake: FakeZendesk, **kwargs) -> ZendeskSource:
    return ZendeskSource(base_url=fake.url, backoff=0, timeout=0.5, **kwargs)


def test_export_pages_keep_times_reopens_and_tags_and_rerun_adds_nothing(store, fake):
    counts = source(fake, redact=True).collect(store)
    assert (counts.read, counts.new) == (5, 5)
    row = store.query("SELECT * FROM tickets WHERE external_id = '1'").iloc[0]
    assert str(row["opened_at"]) == "2026-09-01 08:00:00"
    assert str(row["first_response_at"]) == "2026-09-01 09:30:00"
    assert str(row["resolved_at"]) == "2026-09-01 20:00:00"
    assert (row["reopened"], list(row["tags"])) == (1, ["app", "payment"])
    item = store.query("SELECT text, title FROM items WHERE source = 'zendesk' AND external_id = '1'").iloc[0]
    assert item.tolist() == ["Payment failed, call me at [phone]", "Order 1"]
    again = source(fake).collect(store)
    assert (again.read, again.new) == (0, 0)
    assert fake.requests[-1].query["cursor"] == "c5"  # the next run asks only for what is new


def test_a_changed_ticket_updates_its_row(store, fake):
    source(fake).collect(store)
    fake.put(ticket(2, "2026-09-02T08:00:00Z", "Order 2", "Payment failed again", status="open",
                    tags=["payment"], updated_at="2026-09-06T10:00:00Z"),
             metric_set(2, reply_minutes=90, solved_at=None, reopens=1))
    counts = source(fake).collect(store)
    assert (counts.read, counts.updated, counts.new) == (1, 1, 0)
    row = store.query("SELECT reopened, resolved_at FROM tickets WHERE external_id = '2'").iloc[0]
    assert row["reopened"] == 1 and pd.isna(row["resolved_at"])
    assert store.count("tickets") == 5


@pytest.mark.parametrize("fault", [500, "malformed"])
def test_a_fault_mid_export_keeps_pages_done_and_the_rerun_resumes_there(store, fake, fault):
    fake.fail("/incremental/tickets", fault, times=-1, after=1)
    outcome = source(fake, retries=2).run(store)
    assert not outcome.ok
    assert ("500" in outcome.error) if fault == 500 else ("malformed JSON" in outcome.error)
    assert TOKEN not in outcome.error
    assert store.count("tickets") == 2
    run = store.query("SELECT status, cursor, error FROM runs WHERE collector = 'zendesk'").iloc[0]
    assert (run["status"], run["cursor"]) == ("failed", "c2")
    fake.faults.clear()
    resumed = source(fake).run(store)
    assert resumed.ok and (resumed.counts.new, resumed.counts.duplicates) == (3, 0)
    assert outcome.counts.balanced and resumed.counts.balanced
    assert fake.requests[-3].query["cursor"] == "c2"
    assert store.count("tickets") == 5


def test_rate_limits_and_timeouts_are_retried(store, fake):
    fake.fail("/incremental/tickets", 429, times=2, after=1, retry_after="0")
    fake.fail("/incremental/tickets", "timeout", times=1, after=2)
    outcome = source(fake).run(store)
    assert outcome.ok, outcome.error
    assert outcome.counts.new == 5
    statuses = len(fake.paths("/incremental/tickets"))
    assert statuses == 3 + 3  # three pages plus two 429s and one timed-out request


def test_missing_credentials_say_which_variables_to_set(store, fake, monkeypatch):
    monkeypatch.delenv("ZENDESK_API_TOKEN")
    with pytest.raises(ConfigError, match="ZENDESK_API_TOKEN"):
        source(fake).collect(store)
