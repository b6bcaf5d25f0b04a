"""Support tickets: the ticket row (times, reopens, tags) every ticket source shares, and CSV exports.

A ticket keeps ``opened_at``, ``first_response_at``, ``resolved_at``, its reopen count and tags, so
ticket metrics (time to first response, time to resolution, reopen rate) can be computed from the
``tickets`` table. Its subject and first message become an item (source = the ticket source) whose
``meta`` names the ticket, so they are analysed like any other feedback.

Example:
    >>> from voxlens.core.store import Store
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tickets.csv"
    >>> _ = path.write_text("id,created_at,solved_at,tags,subject\\n7,2026-09-01,2026-09-02,payment;app,Card declined\\n")
    >>> with Store(":memory:") as store:
    ...     import_tickets(store, path).summary()
    'rows read 1: stored 1 (1 new, 0 updated), quarantined 0, duplicates skipped 0'
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable, Mapping

from voxlens.collectors.base import (
    TICKETS, Ingest, RowError, RunCounts, clean_text, content_hash, extra_fields, parse_score, parse_time,
)
from voxlens.collectors.files import RawRecord, read_table, resolve_columns
from voxlens.collectors.reviews import item_row
from voxlens.core.ids import stable_hash
from voxlens.core.store import Store

TICKET_COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "ticket_id", "ticket", "external_id", "ticket_number", "case_number"),
    "opened_at": ("opened_at", "created_at", "created", "requested", "opened", "created_time", "date"),
    "first_response_at": ("first_response_at", "first_reply_at", "first_response", "first_responded_at",
                          "first_reply_time"),
    "resolved_at": ("resolved_at", "solved_at", "solved", "resolved", "closed_at", "resolved_time"),
    "reopens": ("reopens", "reopen_count", "reopened", "times_reopened"),
    "tags": ("tags", "labels"),
    "subject": ("subject", "title", "summary"),
    "description": ("description", "body", "text", "message", "comment", "first_message"),
    "status": ("status", "state"),
    "requester": ("requester", "requester_id", "customer", "customer_id", "requester_email"),
    "channel": ("channel", "via", "source_channel", "group"),
}


def split_tags(value: Any) -> list[str]:
    """Tags from a list or a string separated by commas, semicolons or spaces."""
    if isinstance(value, (list, tuple)):
        return sorted({str(t).strip() for t in value if str(t).strip()})
    text = clean_text(value)
    return sorted(set(re.split(r"[,;\s]+", text)) - {""}) if text else []


def ticket_rows(
    *, source: str, external_id: str, salt: str, opened_at: Any, first_response_at: Any = None,
    resolved_at: Any = None, reopens: int | None = None, tags: list[str] | None = None,
    subject: str | None = None, description: str | None = None, status: str | None = None,
    channel: str | None = None, requester: str | None = None, meta: dict[str, Any] | None = None,
    redact: Callable[[str | None], str | None] = lambda text: text,
) -> list[dict[str, Any]]:
    """The ticket row, plus an item row for its subject and first message when it has text."""
    if first_response_at is not None and opened_at is not None and first_response_at < opened_at:
        raise RowError(f"first response {first_response_at} is before the ticket was opened ({opened_at})")
    if resolved_at is not None and opened_at is not None and resolved_at < opened_at:
        raise RowError(f"resolved {resolved_at} is before the ticket was opened ({opened_at})")
    ticket_meta = {"status": status, "channel": channel, **(meta or {})}
    ticket = {
        "ticket_id": stable_hash(source, external_id), "source": source, "external_id": external_id,
        "opened_at": opened_at, "first_response_at": first_response_at, "resolved_at": resolved_at,
        "reopened": reopens, "tags": tags or [],
        "meta": json.dumps({k: v for k, v in ticket_meta.items() if v is not None}, default=str),
    }
    subject, description = redact(subject), redact(description)
    ticket["content_hash"] = content_hash({**ticket, "subject": subject, "description": description},
                                          exclude=("ticket_id",))
    rows = [ticket]
    text = description or subject
    if text is not None:
        rows.append(item_row(
            source=source, external_id=external_id, text=text, salt=salt, channel=channel,
            created_at=opened_at, author=requester, title=subject if description else None,
            meta=json.dumps({"ticket_id": ticket["ticket_id"], "tags": tags or []}),
        ))
    return rows


def import_tickets(
    store: Store, path: str | Path, *, source: str = "tickets", mapping: Mapping[str, str] | None = None,
    redact: bool = False, progress: bool = False,
) -> RunCounts:
    """Import a ticket export (CSV/JSONL from Zendesk, Freshdesk, Help Scout...); re-imports update."""
    table = read_table(path)
    columns = resolve_columns(table.columns, TICKET_COLUMNS, mapping, path=path,
                              required=("external_id", "opened_at"))
    salt = store.author_salt
    clean = _redactor(redact)

    def normalise(record: RawRecord) -> list[dict[str, Any]]:
        data = record.data or {}
        get = lambda name: data.get(columns[name]) if name in columns else None  # noqa: E731
        external = clean_text(get("external_id"))
        if external is None:
            raise RowError(f"empty {columns['external_id']!r}: a ticket needs its id")
        opened_at = parse_time(get("opened_at"), columns["opened_at"])
        if opened_at is None:
            raise RowError(f"empty {columns['opened_at']!r}: a ticket needs the time it was opened")
        return ticket_rows(
            source=source, external_id=external, salt=salt, opened_at=opened_at,
            first_response_at=parse_time(get("first_response_at"), columns.get("first_response_at", "")),
            resolved_at=parse_time(get("resolved_at"), columns.get("resolved_at", "")),
            reopens=parse_score(get("reopens"), "reopens", 0, 10_000), tags=split_tags(get("tags")),
            subject=clean_text(get("subject")), description=clean_text(get("description")),
            status=clean_text(get("status")), channel=clean_text(get("channel")),
            requester=clean_text(get("requester")),
            meta={"extra": extra_fields(data, columns.values())} if extra_fields(data, columns.values()) else None,
            redact=clean,
        )

    ingest = Ingest(store, f"import-{source}", channel=Path(path).stem, progress=progress)
    return ingest.run([(TICKETS, table.records, normalise)])


def _redactor(redact: bool) -> Callable[[str | None], str | None]:
    if not redact:
        return lambda text: text
    from voxlens.core.privacy import redact_text

    return lambda text: None if text is None else redact_text(text)
