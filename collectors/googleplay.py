"""Google Play reviews per app, language and country, newest first.

The request body and the review fields come from ``google-play-scraper`` (its ``batchexecute``
payload and element specs); the transport is voxlens's retrying client, so the base URL is
configurable and network faults are retried instead of silently ending the collection. The cursor is
the newest review time stored.

Example:
    >>> GooglePlaySource("com.parcelo.app", lang="pl", country="pl").channel
    'pl/com.parcelo.app'
"""

from __future__ import annotations

import json
import ssl
from datetime import datetime, timezone
from typing import Any, Iterator

from voxlens.collectors.base import Checkpoint, RowError
from voxlens.collectors.files import RawRecord
from voxlens.collectors.reviews import item_row, parse_rating
from voxlens.collectors.source import Source
from voxlens.core.errors import SourceError

PLAY_BASE_URL = "https://play.google.com"
REVIEWS_PATH = "/_/PlayStoreUi/data/batchexecute"


def _scraper() -> tuple[Any, Any, Any, Any]:
    """google-play-scraper's request format and parsers.

    Importing it switches off TLS certificate checks for the whole process; voxlens puts the
    verifying default back straight away.
    """
    verified = ssl._create_default_https_context
    try:
        from google_play_scraper import Sort
        from google_play_scraper.constants.element import ElementSpecs
        from google_play_scraper.constants.regex import Regex
        from google_play_scraper.constants.request import Formats
    finally:
        ssl._create_default_https_context = verified
    return Sort, ElementSpecs, Regex, Formats


class GooglePlaySource(Source):
    """Reviews of one Android app.

    Args:
        app_id: the package name (``com.example.app``).
        lang, country: the store language and country.
        base_url: the store's scheme and host (a local fake in tests).
        page_size: reviews asked for per request; ``max_reviews``: most reviews read per run.
        redact, retries, backoff, timeout: see :class:`voxlens.collectors.source.Source` and ``HttpClient``.
    """

    collector = "googleplay"

    def __init__(self, app_id: str, *, lang: str = "en", country: str = "us", base_url: str = PLAY_BASE_URL,
                 page_size: int = 100, max_reviews: int = 1000, redact: bool = False, retries: int = 5,
                 backoff: float = 1.0, timeout: float = 30.0) -> None:
        self.app_id = app_id
        self.lang = lang
        self.country = country.lower()
        self.base_url = base_url
        self.page_size = page_size
        self.max_reviews = max_reviews
        self.redact = redact
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout

    @property
    def channel(self) -> str:
        return f"{self.country}/{self.app_id}"

    def records(self, cursor: str | None) -> Iterator[RawRecord | Checkpoint]:
        sort, specs, regex, formats = _scraper()
        since = float(cursor) if cursor else 0.0
        newest, token, read = since, None, 0
        client = self.http_client(self.base_url, headers={"content-type": "application/x-www-form-urlencoded"})
        try:
            while read < self.max_reviews:
                body = formats.Reviews.build_body(self.app_id, sort.NEWEST.value, self.page_size, "null", "null", token)
                answer = client.request("POST", REVIEWS_PATH, params={"hl": self.lang, "gl": self.country}, data=body)
                reviews, token = _parse(answer.text, regex)
                for raw in reviews:
                    review = {key: spec.extract_content(raw) for key, spec in specs.Review.items()
                              if key not in ("at", "repliedAt", "userImage")}
                    review["at"] = _epoch(raw, 5)
                    review["repliedAt"] = _epoch(raw, 7, 2)
                    if review["at"] is not None and review["at"] <= since:
                        yield Checkpoint(repr(newest))
                        return
                    newest = max(newest, review["at"] or 0.0)
                    read += 1
                    yield RawRecord(f"googleplay:{self.channel}:{review.get('reviewId')}", review, review)
                if not token or not reviews:
                    break
        finally:
            client.close()
        if since and read >= self.max_reviews:
            self.note(f"max_reviews ({self.max_reviews}) was read before reaching the previous run's newest "
                      "review; reviews in between were not collected (raise max_reviews)")
        yield Checkpoint(repr(newest))

    def normalise(self, record: RawRecord, salt: str) -> list[dict[str, Any]]:
        review = record.data or {}
        if not review.get("reviewId"):
            raise RowError("a review without an id")
        text = self.text(review.get("content"), "review text")
        meta = {"version": review.get("appVersion"), "thumbs_up": review.get("thumbsUpCount"),
                "reply": self.optional_text(review.get("replyContent")), "lang": self.lang}
        at = review.get("at")
        return [item_row(
            source="googleplay", external_id=review["reviewId"], text=text, salt=salt, channel=self.channel,
            created_at=None if at is None else datetime.fromtimestamp(at, tz=timezone.utc).replace(tzinfo=None),
            author=review.get("userName"), rating=parse_rating(review.get("score"), 5), rating_scale=5,
            meta=json.dumps({k: v for k, v in meta.items() if v is not None}),
        )]


def _epoch(raw: list[Any], *path: int) -> float | None:
    value: Any = raw
    for index in (*path, 0):
        if not isinstance(value, list) or len(value) <= index:
            return None
        value = value[index]
    return float(value) if isinstance(value, (int, float)) else None


def _parse(text: str, regex: Any) -> tuple[list[Any], str | None]:
    """Reviews and the next page token from a ``batchexecute`` answer."""
    try:
        envelope = json.loads(regex.REVIEWS.findall(text)[0])
        inner = json.loads(envelope[0][2]) if envelope[0][2] else []
    except (IndexError, TypeError, ValueError) as exc:
        raise SourceError(f"Google Play answered in an unknown format ({type(exc).__name__}: {text[:80]!r}); "
                          "google-play-scraper may need an update") from None
    reviews = inner[0] if inner and isinstance(inner[0], list) else []
    token = None
    for part in inner[1:]:
        if isinstance(part, list) and part and isinstance(part[-1], str):
            token = part[-1]
    return reviews, token
