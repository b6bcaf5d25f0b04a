"""Import reviews and posts from CSV or JSONL files (the ``reviews`` table kind).

Example:
    >>> from voxlens.core.store import Store
    >>> from voxlens.collectors.reviews import import_reviews
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "reviews.csv"
    >>> _ = path.write_text("id,text,rating\\n1,Love it,5\\n2,,1\\n")
    >>> with Store(":memory:") as store:
    ...     import_reviews(store, path).summary()
    'rows read 2: stored 1 (1 new, 0 updated), quarantined 1, duplicates skipped 0'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from voxlens.collectors.base import (
    ITEMS, Ingest, RowError, RunCounts, check_length, clean_text, content_hash, extra_fields, parse_number,
    parse_time, utc_now,
)
from voxlens.collectors.files import RawRecord, read_table, resolve_columns
from voxlens.core.ids import hash_author, item_id, stable_hash
from voxlens.core.privacy import redact_text, safe_url
from voxlens.core.store import Store

REVIEW_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("text", "body", "review", "review_text", "review_body", "content", "comment", "message", "feedback",
             "selftext", "description", "tekst", "treść", "komentarz", "opinia"),
    "external_id": ("id", "external_id", "review_id", "post_id", "uuid", "item_id"),
    "created_at": ("created_at", "date", "timestamp", "created", "time", "posted_at", "review_date",
                   "published", "at", "created_utc", "data"),
    "rating": ("rating", "stars", "star_rating", "score", "review_rating", "ocena"),
    "lang": ("lang", "language", "locale"),
    "author": ("author", "user", "username", "user_name", "reviewer", "reviewer_name", "autor"),
    "title": ("title", "subject", "headline", "summary"),
    "url": ("url", "link", "permalink"),
    "channel": ("channel", "subreddit", "app_id", "product", "store"),
}


def item_row(
    *, source: str, external_id: str, text: str, salt: str, channel: str | None = None,
    created_at: Any = None, author: str | None = None, title: str | None = None,
    lang: str | None = None, rating: float | None = None, rating_scale: int | None = None,
    url: str | None = None, response_id: str | None = None, meta: str | None = None,
) -> dict[str, Any]:
    """One row of the item schema, shared by every text source."""
    row = {
        "item_id": item_id(source, external_id), "source": source, "external_id": external_id,
        "channel": channel, "created_at": created_at, "collected_at": utc_now(),
        "author": hash_author(author, salt), "title": title, "text": text,
        "lang": lang.lower()[:8] if lang else None, "rating": rating, "rating_scale": rating_scale,
        "url": safe_url(url),
        "response_id": response_id, "meta": meta,
    }
    row["content_hash"] = content_hash(row, exclude=("item_id",))
    return row


def parse_rating(value: Any, scale: int, column: str = "rating") -> float | None:
    return parse_number(value, column, 0, scale, hint=" (set --rating-scale if your scale differs)")


def import_reviews(
    store: Store,
    path: str | Path,
    *,
    source: str = "reviews",
    channel: str | None = None,
    mapping: Mapping[str, str] | None = None,
    rating_scale: int = 5,
    progress: bool = False,
    redact: bool = False,
) -> RunCounts:
    """Import a CSV/JSONL file of reviews or posts; returns what happened to every row.

    Columns are found by name (``text``/``body``/``review``..., ``id``, ``created_at``/``date``,
    ``rating``/``stars``, ``lang``, ``author``, ``title``, ``url``); ``mapping`` names them explicitly
    (``{"text": "Body"}``). Unused columns are kept in ``meta``. ``redact`` replaces e-mail addresses
    and phone numbers in the stored text, title, meta and quarantined raw rows.
    """
    table = read_table(path)
    columns = resolve_columns(table.columns, REVIEW_COLUMNS, mapping, path=path, required=("text",))
    salt = store.author_salt
    channel = channel or Path(path).stem
    scrub = redact_text if redact else (lambda value: value)

    def normalise(record: RawRecord) -> list[dict[str, Any]]:
        data = record.data or {}
        get = lambda name: data.get(columns[name]) if name in columns else None  # noqa: E731
        text = clean_text(get("text"))
        if text is None:
            raise RowError(f"empty {columns['text']!r}: a review needs text")
        text = scrub(check_length(text, columns["text"]))
        title = clean_text(get("title"))
        meta = extra_fields(data, columns.values())
        created_at = parse_time(get("created_at"), columns.get("created_at", "created_at"))
        author = clean_text(get("author"))
        external = clean_text(get("external_id")) or stable_hash(text, created_at, author)
        return [item_row(
            source=source, external_id=external, text=text, salt=salt,
            channel=clean_text(get("channel")) or channel, created_at=created_at, author=author,
            title=scrub(check_length(title, columns["title"])) if title else None, lang=clean_text(get("lang")),
            rating=parse_rating(get("rating"), rating_scale, columns.get("rating", "rating")),
            rating_scale=rating_scale if "rating" in columns else None,
            url=clean_text(get("url")), meta=scrub(check_length(meta, "other columns")) if meta else None,
        )]

    ingest = Ingest(store, f"import-{source}", channel=channel, progress=progress,
                    redact=redact_text if redact else None)
    return ingest.run([(ITEMS, table.records, normalise)])
