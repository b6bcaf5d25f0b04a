"""RSS and Atom feeds (forums, review sites, status pages) through ``feedparser``.

The cursor keeps the feed's ``ETag``/``Last-Modified`` and the newest entry time, so the next run
asks with a conditional GET (an unchanged feed answers ``304`` and nothing is read) and skips entries
it already has. An entry whose ``updated`` time moves forward updates its item.

Example:
    >>> RssSource("https://status.example.com/history.atom").channel
    'status.example.com/history.atom'
"""

from __future__ import annotations

import calendar
import json
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any, Iterator

from voxlens.collectors.base import Checkpoint, RowError
from voxlens.collectors.files import RawRecord
from voxlens.collectors.reviews import item_row
from voxlens.collectors.source import Source
from voxlens.core.errors import SourceError


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag in ("p", "br", "li", "div", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.hidden:
            self.hidden -= 1


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment (feed summaries are HTML)."""
    parser = _TextOnly()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _moment(entry: Any) -> datetime | None:
    parsed = dict.get(entry, "updated_parsed") or dict.get(entry, "published_parsed")
    return None if parsed is None else datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc).replace(tzinfo=None)


class RssSource(Source):
    """Entries of one RSS or Atom feed.

    Args:
        url: the feed URL.
        source: the ``source`` stored on items (``forum``, ``status``...).
        redact, retries, backoff, timeout: see :class:`voxlens.collectors.source.Source` and ``HttpClient``.
    """

    collector = "rss"

    def __init__(self, url: str, *, source: str = "rss", redact: bool = False, retries: int = 5,
                 backoff: float = 1.0, timeout: float = 30.0) -> None:
        self.url = url
        self.source = source
        self.redact = redact
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout

    @property
    def channel(self) -> str:
        return self.url.split("://", 1)[-1]

    def records(self, cursor: str | None) -> Iterator[RawRecord | Checkpoint]:
        import feedparser

        state = json.loads(cursor) if cursor else {}
        headers = {}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("modified"):
            headers["If-Modified-Since"] = state["modified"]
        client = self.http_client(self.url)
        try:
            response = client.get(self.url, headers=headers)
        finally:
            client.close()
        if response.status_code == 304:
            yield Checkpoint(json.dumps(state))
            return
        feed = feedparser.parse(response.content, response_headers={k.lower(): v for k, v in response.headers.items()})
        if feed.bozo and not feed.entries:
            raise SourceError(f"{self.url} is not a readable RSS/Atom feed ({feed.bozo_exception})")
        since = datetime.fromisoformat(state["newest"]) if state.get("newest") else None
        newest = since
        for number, entry in enumerate(feed.entries, start=1):
            moment = _moment(entry)
            if since is not None and moment is not None and moment <= since:
                continue
            if moment is not None and (newest is None or moment > newest):
                newest = moment
            data = {"entry": dict(entry), "moment": moment}
            yield RawRecord(f"{self.channel}:entry {number}", data, {k: str(v) for k, v in entry.items()})
        yield Checkpoint(json.dumps({"etag": response.headers.get("ETag"),
                                     "modified": response.headers.get("Last-Modified"),
                                     "newest": newest.isoformat() if newest else None}))

    def normalise(self, record: RawRecord, salt: str) -> list[dict[str, Any]]:
        entry, moment = record.data["entry"], record.data["moment"]
        external = entry.get("id") or entry.get("link")
        if not external:
            raise RowError("a feed entry without an id or link")
        contents = entry.get("content") or []
        markup = contents[0].get("value") if contents else entry.get("summary")
        title = self.optional_text(html_to_text(entry.get("title") or ""))
        text = self.optional_text(html_to_text(markup or "")) or title
        if text is None:
            raise RowError(f"entry {external} has no title and no text")
        tags = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
        return [item_row(
            source=self.source, external_id=str(external), text=text, salt=salt, channel=self.channel,
            created_at=moment, author=entry.get("author"), title=title if title != text else None,
            url=entry.get("link"), meta=json.dumps({"tags": tags}) if tags else None,
        )]
