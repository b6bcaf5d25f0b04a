"""A fake Zendesk incremental ticket export (cursor based, with metric_sets side-loaded)."""

from __future__ import annotations

import base64
import copy
from typing import Any

from tests.fakes.server import FakeServer, Request, Response

EMAIL, TOKEN = "ops@parcelo.example", "fake-zendesk-token"


def ticket(ticket_id: int, created_at: str, subject: str, description: str, status: str = "open",
           tags: list[str] | None = None, updated_at: str | None = None) -> dict[str, Any]:
    return {"id": ticket_id, "created_at": created_at, "updated_at": updated_at or created_at,
            "subject": subject, "description": description, "status": status, "tags": tags or [],
            "requester_id": 9000 + ticket_id, "priority": "normal", "via": {"channel": "email"}}


def metric_set(ticket_id: int, reply_minutes: int | None, solved_at: str | None, reopens: int = 0) -> dict[str, Any]:
    return {"ticket_id": ticket_id, "reopens": reopens, "replies": 1, "solved_at": solved_at,
            "reply_time_in_minutes": {"calendar": reply_minutes, "business": reply_minutes}}


class FakeZendesk(FakeServer):
    """Every added or changed ticket is appended to an event log; a cursor is a position in that log."""

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.log: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.route("GET", r"/api/v2/incremental/tickets/cursor\.json", self.export)

    def put(self, ticket_data: dict[str, Any], metrics: dict[str, Any]) -> None:
        self.log.append((copy.deepcopy(ticket_data), copy.deepcopy(metrics)))

    def export(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return Response(401, {"error": "Couldn't authenticate you"})
        start = int(request.query["cursor"][1:]) if "cursor" in request.query else 0
        page = self.log[start:start + self.page_size]
        end = start + len(page)
        return Response(200, {
            "tickets": [t for t, _ in page], "metric_sets": [m for _, m in page],
            "after_cursor": f"c{end}", "before_cursor": f"c{start}",
            "after_url": f"{self.url}/api/v2/incremental/tickets/cursor.json?cursor=c{end}",
            "end_of_stream": end >= len(self.log),
        }, {"Content-Type": "application/json"})
