"""Fake app stores: Apple's customer-reviews JSON feed and Google Play's batchexecute reviews answer."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from tests.fakes.server import FakeServer, Request, Response


def apple_entry(review_id: str, updated: str, rating: int, title: str, content: str,
                author: str = "kasia_w", version: str = "5.2") -> dict[str, Any]:
    """One entry as Apple's feed has it: every value wrapped in ``{"label": ...}``."""
    return {
        "author": {"uri": {"label": f"https://itunes.apple.com/us/reviews/id{abs(hash(author)) % 10**9}"},
                   "name": {"label": author}, "label": ""},
        "updated": {"label": updated}, "im:rating": {"label": str(rating)}, "im:version": {"label": version},
        "id": {"label": review_id}, "title": {"label": title},
        "content": {"label": content, "attributes": {"type": "text"}},
        "link": {"attributes": {"rel": "related", "href": "https://itunes.apple.com/us/review?id=1&type=Purple%20Software"}},
        "im:voteSum": {"label": "0"}, "im:contentType": {"attributes": {"term": "Application", "label": "Application"}},
        "im:voteCount": {"label": "0"},
    }


class FakeAppleFeed(FakeServer):
    def __init__(self, entries: list[dict[str, Any]], page_size: int = 2) -> None:
        super().__init__()
        self.entries = entries
        self.page_size = page_size
        self.route("GET", r"/(?P<country>\w+)/rss/customerreviews/page=(?P<page>\d+)/id=(?P<app>\d+)/sortby=mostrecent/json",
                   self.feed)

    def feed(self, request: Request, country: str, page: str, app: str) -> Response:
        ordered = sorted(self.entries, key=lambda e: e["updated"]["label"], reverse=True)
        start = (int(page) - 1) * self.page_size
        chunk = ordered[start:start + self.page_size]
        feed: dict[str, Any] = {"author": {"name": {"label": "iTunes Store"}}, "updated": {"label": "2026-09-20T00:00:00-07:00"},
                                "title": {"label": "iTunes Store: Customer Reviews"}, "id": {"label": request.path}}
        if chunk:
            feed["entry"] = chunk[0] if len(chunk) == 1 else chunk
        return Response(200, {"feed": feed}, {"Content-Type": "application/json"})


def play_review(review_id: str, at: datetime, score: int, content: str, user: str = "Jan K.",
                version: str = "5.2.0") -> list[Any]:
    """A review as Google Play's batchexecute answer nests it (positions read by google-play-scraper)."""
    seconds = int(at.replace(tzinfo=timezone.utc).timestamp())
    return [review_id, [user, [None, 2, None, [None, None, "https://play-lh.example/avatar"]]], score, None,
            content, [seconds, 0], 4, None, None, None, version]


class FakeGooglePlay(FakeServer):
    def __init__(self, reviews: list[list[Any]], page_size: int = 2) -> None:
        super().__init__()
        self.reviews = reviews
        self.page_size = page_size
        self.apps: list[str] = []
        self.route("POST", r"/_/PlayStoreUi/data/batchexecute", self.batchexecute)

    def batchexecute(self, request: Request) -> Response:
        query = json.loads(json.loads(unquote(request.body.decode()).strip().removeprefix("f.req="))[0][0][1])
        paging, app_id = query[1][2], query[2][0]
        token = paging[2] if len(paging) > 2 else None
        self.apps.append(app_id)
        ordered = sorted(self.reviews, key=lambda r: -r[5][0])
        start = int(token[1:]) if token else 0
        page = ordered[start:start + min(self.page_size, paging[0])]
        end = start + len(page)
        inner: list[Any] = [page, [None, f"t{end}"]] if end < len(ordered) else [page]
        envelope = [["wrb.fr", "oCPfdb", json.dumps(inner), None, None, None, "generic"], ["di", 42]]
        return Response(200, ")]}'\n\n" + json.dumps(envelope), {"Content-Type": "application/json"})
