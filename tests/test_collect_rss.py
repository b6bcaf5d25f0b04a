"""RSS 2.0 and Atom feeds against a local server, with conditional GET and updates."""

from __future__ import annotations

from voxlens.collectors.rss import RssSource, html_to_text
from tests.fakes.server import FakeServer, Request, Response

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Parcelo forum</title><link>https://forum.parcelo.example/</link><description>Latest topics</description>
{items}
</channel></rss>"""
ITEM = """<item><title>{title}</title><link>https://forum.parcelo.example/t/{n}</link>
<guid isPermaLink="false">forum-topic-{n}</guid><dc:creator>member{n}</dc:creator>
<pubDate>{date}</pubDate><category>payments</category>
<description><![CDATA[<p>{body}</p><p>Reply to <a href="mailto:jan@example.com">jan@example.com</a></p>]]></description></item>"""

ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Parcelo Status - Incident History</title>
<id>tag:status.parcelo.example,2005:/history</id><updated>{updated}</updated>
<entry><id>tag:status.parcelo.example,2005:Incident/1</id><published>2026-09-17T09:00:00+02:00</published>
<updated>{updated}</updated><link rel="alternate" type="text/html" href="https://status.parcelo.example/incidents/1"/>
<title>Card payments failing</title><content type="html">&lt;p&gt;&lt;strong&gt;{status}&lt;/strong&gt; - Card payments fail in app 5.2.&lt;/p&gt;</content></entry>
</feed>"""


class FeedServer(FakeServer):
    def __init__(self, body: str, content_type: str, etag: str = '"v1"') -> None:
        super().__init__()
        self.body, self.content_type, self.etag = body, content_type, etag
        self.route("GET", r"/feed", self.feed)

    def feed(self, request: Request) -> Response:
        if request.headers.get("If-None-Match") == self.etag:
            return Response(304, "")
        return Response(200, self.body, {"Content-Type": self.content_type, "ETag": self.etag})


def rss(n_items: int) -> str:
    items = "".join(ITEM.format(n=n, title=f"Topic {n}", body=f"Checkout broken #{n}",
                                date=f"Thu, 1{n} Sep 2026 10:00:00 GMT") for n in range(n_items))
    return RSS.format(items=items)


def test_rss_entries_are_stored_and_an_unchanged_feed_is_not_read_again(store):
    with FeedServer(rss(3), "application/rss+xml") as server:
        source = RssSource(server.url + "/feed", source="forum", redact=True, backoff=0)
        assert source.collect(store).new == 3
        row = store.query("SELECT * FROM items WHERE external_id = 'forum-topic-2'").iloc[0]
        assert row["text"] == "Checkout broken #2\nReply to [email]"
        assert (row["title"], row["source"], str(row["created_at"])) == ("Topic 2", "forum", "2026-09-12 10:00:00")
        assert row["url"] == "https://forum.parcelo.example/t/2"
        again = source.collect(store)
        assert again.read == 0 and server.requests[-1].headers.get("If-None-Match") == '"v1"'
        server.body, server.etag = rss(4), '"v2"'
        later = source.collect(store)
        assert (later.read, later.new) == (1, 1)  # only the entry newer than the cursor


def test_an_updated_status_page_entry_updates_its_item(store):
    with FeedServer(ATOM.format(updated="2026-09-17T09:00:00+02:00", status="Investigating"),
                    "application/atom+xml") as server:
        source = RssSource(server.url + "/feed", source="status", backoff=0)
        source.collect(store)
        server.body, server.etag = ATOM.format(updated="2026-09-17T12:00:00+02:00", status="Resolved"), '"v2"'
        counts = source.collect(store)
        assert (counts.updated, counts.new) == (1, 0)
        assert store.query("SELECT text FROM items")["text"].iloc[0] == "Resolved - Card payments fail in app 5.2."


def test_a_page_that_is_not_a_feed_fails_with_a_clear_reason(store):
    with FeedServer("<html><body>Maintenance</body></html>", "text/html") as server:
        outcome = RssSource(server.url + "/feed", backoff=0).run(store)
        assert not outcome.ok and "not a readable RSS/Atom feed" in outcome.error
        assert store.query("SELECT status FROM runs")["status"].tolist() == ["failed"]


def test_html_to_text_keeps_visible_text_only():
    assert html_to_text("<p>Hi &amp; <b>bye</b></p><script>x</script>") == "Hi & bye"
