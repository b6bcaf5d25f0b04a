"""Zendesk tickets through the cursor-based incremental export API, with ticket metrics.

``GET /api/v2/incremental/tickets/cursor.json?start_time=T&include=metric_sets`` returns a page of
tickets changed since ``T`` and an ``after_cursor``; later pages (and later runs) ask with
``cursor=after_cursor`` until ``end_of_stream``. Each page is a checkpoint, so a failed run resumes at
the page it stopped on. A changed ticket comes back and updates its row.

Credentials come from the environment, never from the config file: ``ZENDESK_EMAIL`` with
``ZENDESK_API_TOKEN`` (API token), or ``ZENDESK_OAUTH_TOKEN``.

Example:
    >>> ZendeskSource(subdomain="parcelo").base_url
    'https://parcelo.zendesk.com'
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, Iterator

from voxlens.collectors.base import Checkpoint, RowError, parse_time
from voxlens.collectors.files import RawRecord
from voxlens.collectors.http import HttpClient
from voxlens.collectors.source import Source
from voxlens.collectors.tickets import TICKETS, split_tags, ticket_rows
from voxlens.core.errors import ConfigError

EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"


class ZendeskSource(Source):
    """Tickets of one Zendesk account.

    Args:
        subdomain: the account (``https://SUBDOMAIN.zendesk.com``); or give ``base_url``.
        base_url: the API's scheme and host (a local fake in tests).
        start_time: epoch seconds of the first export (later runs use the stored cursor).
        redact: replace e-mail addresses and phone numbers in ticket text.
        retries, backoff, timeout: network policy (see :class:`voxlens.collectors.http.HttpClient`).
    """

    collector = "zendesk"
    table = TICKETS

    def __init__(self, subdomain: str | None = None, *, base_url: str | None = None, start_time: int = 0,
                 redact: bool = False, retries: int = 5, backoff: float = 1.0, timeout: float = 30.0) -> None:
        self.subdomain = subdomain
        self.base_url = base_url or (f"https://{subdomain}.zendesk.com" if subdomain else "")
        self.start_time = start_time
        self.redact = redact
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout

    @property
    def channel(self) -> str:
        return self.subdomain or self.base_url

    def client(self) -> HttpClient:
        if not self.base_url:
            raise ConfigError("a zendesk source needs subdomain = \"...\" or base_url = \"https://...\"")
        email, token = os.environ.get("ZENDESK_EMAIL"), os.environ.get("ZENDESK_API_TOKEN")
        oauth = os.environ.get("ZENDESK_OAUTH_TOKEN")
        if oauth:
            return self.http_client(self.base_url, headers={"Authorization": f"Bearer {oauth}"})
        if email and token:
            return self.http_client(self.base_url, auth=(f"{email}/token", token))
        raise ConfigError("Zendesk credentials are missing: set ZENDESK_EMAIL and ZENDESK_API_TOKEN "
                          "(or ZENDESK_OAUTH_TOKEN) in the environment")

    def records(self, cursor: str | None) -> Iterator[RawRecord | Checkpoint]:
        client = self.client()
        params: dict[str, Any] = {"include": "metric_sets"}
        params.update({"cursor": cursor} if cursor else {"start_time": self.start_time})
        try:
            while True:
                page = client.get_json(EXPORT_PATH, params)
                metrics = {m.get("ticket_id"): m for m in page.get("metric_sets") or []}
                for ticket in page.get("tickets") or []:
                    data = {"ticket": ticket, "metrics": metrics.get(ticket.get("id"))}
                    yield RawRecord(f"zendesk:ticket {ticket.get('id')}", data, ticket)
                after = page.get("after_cursor")
                if after:
                    yield Checkpoint(after)
                if page.get("end_of_stream") or not after:
                    return
                params = {"include": "metric_sets", "cursor": after}
        finally:
            client.close()

    def normalise(self, record: RawRecord, salt: str) -> list[dict[str, Any]]:
        ticket, metrics = record.data["ticket"], record.data["metrics"] or {}
        if ticket.get("id") is None:
            raise RowError("a Zendesk ticket without an id")
        opened_at = parse_time(ticket.get("created_at"), "created_at")
        if opened_at is None:
            raise RowError(f"ticket {ticket['id']} has no created_at")
        reply_minutes = (metrics.get("reply_time_in_minutes") or {}).get("calendar")
        first_response_at = opened_at + timedelta(minutes=reply_minutes) if reply_minutes is not None else None
        resolved_at = parse_time(metrics.get("solved_at"), "solved_at")
        if resolved_at is None and ticket.get("status") in ("solved", "closed"):
            resolved_at = parse_time(ticket.get("updated_at"), "updated_at")
        return ticket_rows(
            source="zendesk", external_id=str(ticket["id"]), salt=salt, opened_at=opened_at,
            first_response_at=first_response_at, resolved_at=resolved_at, reopens=metrics.get("reopens"),
            tags=split_tags(ticket.get("tags") or []), subject=self.optional_text(ticket.get("subject")),
            description=self.optional_text(ticket.get("description")), status=ticket.get("status"),
            channel=(ticket.get("via") or {}).get("channel"),
            requester=None if ticket.get("requester_id") is None else str(ticket["requester_id"]),
            meta={"priority": ticket.get("priority"), "replies": metrics.get("replies"),
                  "updated_at": ticket.get("updated_at")},
        )
