"""Reddit through praw against a local fake Reddit: the real praw code path runs."""

from __future__ import annotations

import pytest

from voxlens.collectors.reddit import RedditSource
from tests.fakes.reddit import CLIENT_ID, CLIENT_SECRET, FakeReddit, comment, post

DAY = 86_400.0
T0 = 1_790_000_000.0


def source(fake: FakeReddit, **kwargs) -> RedditSource:
    settings = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "reddit_url": fake.url, "oauth_url": fake.url}
    return RedditSource("parcelo", praw_settings=settings, backoff=0, **kwargs)


@pytest.fixture
def fake():
    posts = [post(f"p{i}", f"Post {i}", f"Payment failed after update 5.2 (#{i})", T0 + i * DAY)
             for i in range(5)]
    comments = {"p4": [comment("c1", "Same here, card declined", T0 + 4.1 * DAY, "t3_p4"),
                       comment("c2", "[deleted]", T0 + 4.2 * DAY, "t3_p4")]}
    with FakeReddit(posts, comments, page_size=2) as server:
        yield server


def test_new_submissions_are_read_across_pages_and_rerun_adds_nothing(store, fake):
    first = source(fake).collect(store)
    assert (first.new, first.read) == (5, 5)
    assert len(fake.paths("/r/parcelo/new")) == 3  # pages of 2, 2, 1 via `after`
    again = source(fake).collect(store)
    assert (again.read, again.new) == (0, 0)  # the cursor stops at the newest stored post
    fake.posts.append(post("p5", "Courier lost my parcel", "", T0 + 6 * DAY))
    later = source(fake).collect(store)
    assert (later.new, later.read) == (1, 1)
    texts = store.query("SELECT text, title, channel FROM items WHERE external_id = 't3_p5'")
    assert texts.iloc[0].tolist() == ["Courier lost my parcel", "Courier lost my parcel", "r/parcelo"]


def test_search_with_comments_stores_comments_and_quarantines_deleted(store, fake):
    fake.posts[4]["title"] = "Card declined at checkout"
    counts = source(fake, query="declined", comments=True).collect(store)
    assert (counts.read, counts.new, counts.quarantined) == (3, 2, 1)
    stored = store.query("SELECT external_id, author FROM items ORDER BY external_id")
    assert stored["external_id"].tolist() == ["t1_c1", "t3_p4"]
    assert stored["author"].str.startswith("a_").all()  # hashed, never the user name
    reason = store.query("SELECT reason FROM quarantine")["reason"].iloc[0]
    assert "t1_c2 was deleted" in reason


def test_a_fault_mid_pagination_loses_nothing_and_the_rerun_completes(store, fake):
    fake.fail("/r/parcelo/new", 500, times=-1, after=1)  # page 2 onwards keeps failing
    outcome = source(fake, limit=100).run(store)
    assert not outcome.ok and "500" in outcome.error
    assert store.count("items") == 2  # page 1 was committed before the failure
    assert outcome.counts.balanced and outcome.counts.new == 2
    run = store.query("SELECT status, error FROM runs WHERE collector = 'reddit'").iloc[0]
    assert run["status"] == "failed" and "500" in run["error"]
    fake.faults.clear()
    resumed = source(fake).run(store)
    assert resumed.ok and (resumed.counts.new, resumed.counts.duplicates) == (3, 2)
    assert resumed.counts.balanced
    assert store.query("SELECT count(DISTINCT external_id) AS n, count(*) AS m FROM items").iloc[0].tolist() == [5, 5]
    assert "5 new" not in resumed.summary() and "3 new, 0 updated, 0 quarantined, 0 errors" in resumed.summary()


def test_an_edited_submission_updates_its_item(store, fake):
    source(fake).collect(store)
    fake.posts[4]["selftext"] = "Edit: fixed by support, thanks"
    fake.posts[4]["edited"] = T0 + 5 * DAY
    # an edit does not change created_utc, so re-read the window by starting over from an empty cursor
    store.execute("UPDATE runs SET cursor = NULL")
    counts = source(fake).collect(store)
    assert (counts.updated, counts.new, counts.duplicates) == (1, 0, 4)
    assert store.query("SELECT text FROM items WHERE external_id = 't3_p4'")["text"].iloc[0].startswith("Edit:")


def test_praw_ini_site_points_praw_at_the_fake(store, fake, tmp_path, monkeypatch):
    (tmp_path / "praw.ini").write_text(
        f"[fake]\nclient_id={CLIENT_ID}\nclient_secret={CLIENT_SECRET}\n"
        f"reddit_url={fake.url}\noauth_url={fake.url}\nuser_agent=voxlens-tests/1.0\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PRAW_ALLOW_ENDPOINT_OVERRIDE", "1")
    monkeypatch.setattr("praw.config.Config.CONFIG", None)  # praw reads praw.ini once per process
    counts = RedditSource("parcelo", site="fake", backoff=0, limit=3).collect(store)
    assert counts.new == 3
    assert fake.requests[0].path == "/api/v1/access_token"


def test_wrong_credentials_fail_with_a_clear_error(store, fake):
    bad = RedditSource("parcelo", backoff=0, praw_settings={
        "client_id": "nope", "client_secret": "nope", "reddit_url": fake.url, "oauth_url": fake.url})
    outcome = bad.run(store)
    assert not outcome.ok and "401" in outcome.error
    assert "nope" not in outcome.error


def test_a_limit_too_small_for_the_gap_is_reported(store, fake):
    source(fake, limit=2).collect(store)
    fake.posts += [post(f"n{i}", f"New {i}", "Late parcel", T0 + (10 + i) * DAY) for i in range(3)]
    outcome = source(fake, limit=2).run(store)
    assert outcome.ok and outcome.counts.new == 2
    assert "note: the limit of 2 submissions was read before reaching the previous run's newest" in outcome.summary()


def test_late_comments_on_recent_submissions_are_collected_with_revisit_days(store, fake):
    first = source(fake, comments=True, revisit_days=2).collect(store)
    assert (first.new, first.quarantined) == (6, 1)  # 5 posts, c1; the deleted c2 is quarantined
    fake.comments["p4"].append(comment("c3", "Still failing for me today", T0 + 5 * DAY, "t3_p4"))
    fake.comments["p1"] = [comment("c4", "Old thread, late reply", T0 + 5 * DAY, "t3_p1")]

    again = source(fake, comments=True, revisit_days=2).collect(store)

    assert again.new == 1 and again.balanced  # c3 (p4, p3, p2 revisited); p1 is older than the window
    assert set(store.query("SELECT external_id FROM items WHERE external_id LIKE 't1_%'")["external_id"]) == {
        "t1_c1", "t1_c3"}
    assert (again.duplicates, again.quarantined) == (1, 1)  # c1 again; c2 still deleted
    without = source(fake, comments=True).collect(store)
    assert (without.read, without.new) == (0, 0)


def test_a_negative_revisit_window_is_refused(store, fake):
    outcome = source(fake, comments=True, revisit_days=-1).run(store)
    assert not outcome.ok and "revisit_days must be 0 or more" in outcome.error
