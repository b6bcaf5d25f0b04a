"""Apple App Store customer reviews from Apple's public reviews feed (JSON), per app and country.

``{base_url}/{country}/rss/customerreviews/page={n}/id={app_id}/sortby=mostrecent/json`` gives up
to 50 reviews a page, newest first, for pages 1–10. The cursor is the newest ``updated`` time stored:
the next run reads pages until it reaches it. An edited review comes back with a new time and
updates its item.

Example:
    >>> AppStoreSource("1234567890", country="pl").channel
    'pl/1234567890'
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from voxlens.collectors.base import Checkpoint, RowError, parse_time
from voxlens.collectors.files import RawRecord
from voxlens.collectors.reviews import item_row, parse_rating
from voxlens.collectors.source import Source

APPLE_BASE_URL = "https://itunes.apple.com"
MAX_PAGES = 10


def _label(entry: dict[str, Any], *keys: str) -> Any:
    value: Any = entry
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value.get("label") if isinstance(value, dict) else value


class AppStoreSource(Source):
    """Reviews of one iOS app in one country's store.

    Args:
        app_id: the numeric App Store id (``id123456789`` in the app's URL, without ``id``).
        country: the two-letter store country.
        base_url: the feed's scheme and host (a local fake in tests).
        pages: most pages read per run (1–10).
        redact, retries, backoff, timeout: see :class:`voxlens.collectors.source.Source` and ``HttpClient``.
    """

    collector = "appstore"

    def __init__(self, app_id: str, *, country: str = "us", base_url: str = APPLE_BASE_URL,
                 pages: int = MAX_PAGES, redact: bool = False, retries: int = 5, backoff: float = 1.0,
                 timeout: float = 30.0) -> None:
        self.app_id = str(app_id).removeprefix("id")
        self.country = country.lower()
        self.base_url = base_url
        self.pages = pages
        self.redact = redact
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout

    @property
    def channel(self) -> str:
        return f"{self.country}/{self.app_id}"

    def records(self, cursor: str | None) -> Iterator[RawRecord | Checkpoint]:
        since = parse_time(cursor, "cursor") if cursor else None
        newest = cursor
        client = self.http_client(self.base_url)
        try:
            for page in range(1, min(self.pages, MAX_PAGES) + 1):
                path = f"{self.country}/rss/customerreviews/page={page}/id={self.app_id}/sortby=mostrecent/json"
                entries = (client.get_json(path).get("feed") or {}).get("entry") or []
                if isinstance(entries, dict):  # a single review comes as an object
                    entries = [entries]
                reviews = [e for e in entries if "im:rating" in e]  # older feeds lead with the app itself
                if not reviews:
                    break
                for number, entry in enumerate(reviews, start=1):
                    updated = _label(entry, "updated")
                    moment = parse_time(updated, "updated") if updated else None
                    if since is not None and moment is not None and moment <= since:
                        yield Checkpoint(newest)
                        return
                    if moment is not None and (newest is None or moment > parse_time(newest, "cursor")):
                        newest = moment.isoformat()
                    yield RawRecord(f"appstore:{self.channel}:page {page}:entry {number}", entry, entry)
                if page == MAX_PAGES and since is not None:
                    self.note("Apple's feed ends after 10 pages and the previous run's newest review was not "
                              "reached; older new reviews are not in the feed (collect more often)")
        finally:
            client.close()
        if newest is not None:
            yield Checkpoint(newest)

    def normalise(self, record: RawRecord, salt: str) -> list[dict[str, Any]]:
        entry = record.data or {}
        external = _label(entry, "id")
        if not external:
            raise RowError("a review without an id")
        title = self.optional_text(_label(entry, "title"))
        text = self.optional_text(_label(entry, "content")) or title
        if text is None:
            raise RowError(f"review {external} has no text")
        meta = {"version": _label(entry, "im:version"), "votes": _label(entry, "im:voteSum"),
                "country": self.country}
        return [item_row(
            source="appstore", external_id=str(external), text=text, salt=salt, channel=self.channel,
            created_at=parse_time(_label(entry, "updated"), "updated"), author=_label(entry, "author", "name"),
            title=title if text != title else None, rating=parse_rating(_label(entry, "im:rating"), 5),
            rating_scale=5, url=_label(entry, "author", "uri"), meta=json.dumps(meta),
        )]
