"""App-store reviews against local fakes of Apple's feed and Google Play's reviews endpoint."""

from __future__ import annotations

import ssl
from datetime import datetime

from voxlens.collectors.appstore import AppStoreSource
from voxlens.collectors.googleplay import GooglePlaySource
from tests.fakes.stores import FakeAppleFeed, FakeGooglePlay, apple_entry, play_review


def apple_entries() -> list[dict]:
    return [apple_entry(f"1100{n}", f"2026-09-1{n}T10:00:00-07:00", rating=1 + n % 5, title=f"Update {n}",
                        content=f"Payment fails after update 5.{n}") for n in range(5)]


def test_apple_reviews_are_paged_with_ratings_and_the_rerun_adds_nothing(store):
    with FakeAppleFeed(apple_entries(), page_size=2) as fake:
        counts = AppStoreSource("1234567890", country="pl", base_url=fake.url, backoff=0).collect(store)
        assert (counts.read, counts.new) == (5, 5)
        assert fake.paths()[0] == "/pl/rss/customerreviews/page=1/id=1234567890/sortby=mostrecent/json"
        rows = store.query("SELECT external_id, rating, rating_scale, created_at, title, channel FROM items "
                           "ORDER BY created_at DESC")
        assert rows.iloc[0].tolist()[:3] == ["11004", 5.0, 5]
        assert str(rows.iloc[0]["created_at"]) == "2026-09-14 17:00:00"  # stored in UTC
        assert rows.iloc[0]["channel"] == "pl/1234567890"
        requests_before = len(fake.requests)
        again = AppStoreSource("1234567890", country="pl", base_url=fake.url, backoff=0).collect(store)
        assert (again.read, again.new) == (0, 0)
        assert len(fake.requests) - requests_before == 1  # the first page already reaches the cursor


def test_apple_edited_review_updates_and_a_single_entry_feed_is_read(store):
    entries = apple_entries()[:1]
    with FakeAppleFeed(entries) as fake:
        source = AppStoreSource("1234567890", base_url=fake.url, backoff=0)
        assert source.collect(store).new == 1  # the feed gives one review as an object, not a list
        entries[0]["content"]["label"] = "Fixed in 5.3, thanks"
        entries[0]["updated"]["label"] = "2026-09-19T10:00:00-07:00"
        counts = source.collect(store)
        assert (counts.updated, counts.new) == (1, 0)
        assert store.query("SELECT text FROM items")["text"].tolist() == ["Fixed in 5.3, thanks"]


def test_apple_fault_on_page_two_keeps_page_one_and_the_rerun_completes(store):
    with FakeAppleFeed(apple_entries(), page_size=2) as fake:
        fake.fail("page=2", 503, times=-1)
        source = AppStoreSource("1234567890", base_url=fake.url, backoff=0, retries=1)
        outcome = source.run(store)
        assert not outcome.ok and "503" in outcome.error
        assert store.count("items") == 2
        fake.faults.clear()
        resumed = source.run(store)
        assert resumed.ok and (resumed.counts.new, resumed.counts.duplicates) == (3, 2)
        assert store.count("items") == 5


def play_reviews() -> list[list]:
    return [play_review(f"gp:AOqpTO{n}", datetime(2026, 9, 10 + n, 12), 1 + n % 5, f"Karta odrzucona {n}")
            for n in range(5)]


def test_google_play_reviews_follow_the_page_token_and_the_rerun_adds_nothing(store):
    with FakeGooglePlay(play_reviews(), page_size=2) as fake:
        source = GooglePlaySource("com.parcelo.app", lang="pl", country="pl", base_url=fake.url, backoff=0)
        counts = source.collect(store)
        assert (counts.read, counts.new) == (5, 5)
        assert fake.apps == ["com.parcelo.app"] * 3
        assert fake.requests[0].query == {"hl": "pl", "gl": "pl"}
        row = store.query("SELECT * FROM items WHERE external_id = 'gp:AOqpTO4'").iloc[0]
        assert (row["rating"], row["text"], str(row["created_at"])) == (5.0, "Karta odrzucona 4", "2026-09-14 12:00:00")
        assert row["author"].startswith("a_")
        fake.reviews.append(play_review("gp:new", datetime(2026, 9, 16, 8), 1, "Nie działa płatność"))
        later = source.collect(store)
        assert (later.read, later.new) == (1, 1)


def test_google_play_rate_limit_is_waited_out(store):
    with FakeGooglePlay(play_reviews(), page_size=5) as fake:
        fake.fail("batchexecute", 429, times=1, retry_after="0")
        outcome = GooglePlaySource("com.parcelo.app", base_url=fake.url, backoff=0).run(store)
        assert outcome.ok and outcome.counts.new == 5
        assert len(fake.requests) == 2


def test_importing_the_google_play_module_keeps_tls_verification():
    from voxlens.collectors.googleplay import _scraper

    _scraper()
    assert ssl._create_default_https_context is ssl.create_default_context


def test_gaps_larger_than_one_run_can_read_are_reported(store):
    with FakeGooglePlay(play_reviews(), page_size=2) as play:
        source = GooglePlaySource("com.parcelo.app", base_url=play.url, backoff=0, max_reviews=2)
        source.collect(store)
        play.reviews += [play_review(f"gp:late{n}", datetime(2026, 9, 20, n), 1, "Late") for n in range(3)]
        assert "note: max_reviews (2) was read before reaching" in source.run(store).summary()
    entries = apple_entries()[:1]
    with FakeAppleFeed(entries, page_size=1) as apple:
        source = AppStoreSource("1234567890", base_url=apple.url, backoff=0)
        source.collect(store)
        entries += [apple_entry(f"77{n:02d}", f"2026-09-2{n // 6}T{10 + n % 6}:00:00Z", 3, "T", "More")
                    for n in range(11)]
        outcome = source.run(store)
        assert outcome.counts.new == 10 and "Apple's feed ends after 10 pages" in outcome.summary()
