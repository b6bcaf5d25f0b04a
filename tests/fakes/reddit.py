"""A fake Reddit speaking the endpoints praw calls: OAuth token, /new, /search, /comments, ``after`` paging."""

from __future__ import annotations

import base64
from typing import Any

from tests.fakes.server import FakeServer, Request, Response

CLIENT_ID, CLIENT_SECRET = "fake-client-id", "fake-client-secret"


def post(post_id: str, title: str, selftext: str, created_utc: float, author: str = "courier_fan",
         subreddit: str = "parcelo") -> dict[str, Any]:
    return {
        "id": post_id, "name": f"t3_{post_id}", "title": title, "selftext": selftext,
        "created_utc": created_utc, "author": author, "subreddit": subreddit, "score": 3,
        "num_comments": 0, "link_flair_text": None, "edited": False, "over_18": False,
        "permalink": f"/r/{subreddit}/comments/{post_id}/post/", "url": f"https://www.reddit.com/r/{subreddit}/comments/{post_id}/post/",
    }


def comment(comment_id: str, body: str, created_utc: float, parent: str, author: str = "helper") -> dict[str, Any]:
    return {
        "id": comment_id, "name": f"t1_{comment_id}", "body": body, "created_utc": created_utc,
        "author": author, "parent_id": parent, "link_id": parent, "score": 1, "edited": False,
        "permalink": f"/r/parcelo/comments/{parent[3:]}/post/{comment_id}/", "replies": "",
    }


class FakeReddit(FakeServer):
    """Posts and comments of r/parcelo served ``page_size`` at a time, newest first."""

    def __init__(self, posts: list[dict[str, Any]], comments: dict[str, list[dict[str, Any]]] | None = None,
                 page_size: int = 2) -> None:
        super().__init__()
        self.posts = posts
        self.comments = comments or {}
        self.page_size = page_size
        self.route("POST", r"/api/v1/access_token", self.token)
        self.route("GET", r"/r/(?P<sub>\w+)/new", self.new)
        self.route("GET", r"/r/(?P<sub>\w+)/search", self.search)
        self.route("GET", r"/comments/(?P<post_id>\w+)", self.post_comments)

    def token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return Response(401, {"message": "Unauthorized", "error": 401})
        return Response(200, {"access_token": "fake-token", "token_type": "bearer", "expires_in": 3600,
                              "scope": "*"})

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("Authorization") == "bearer fake-token"

    def _listing(self, request: Request, posts: list[dict[str, Any]]) -> Response:
        if not self._authorised(request):
            return Response(401, {"message": "Unauthorized", "error": 401})
        ordered = sorted(posts, key=lambda p: -p["created_utc"])
        start = 0
        if "after" in request.query:
            names = [p["name"] for p in ordered]
            start = names.index(request.query["after"]) + 1
        size = min(self.page_size, int(request.query.get("limit", 100)))
        page = ordered[start:start + size]
        after = page[-1]["name"] if start + size < len(ordered) and page else None
        return Response(200, {"kind": "Listing", "data": {
            "after": after, "before": None, "dist": len(page),
            "children": [{"kind": "t3", "data": p} for p in page]}})

    def new(self, request: Request, sub: str) -> Response:
        return self._listing(request, [p for p in self.posts if p["subreddit"] == sub])

    def search(self, request: Request, sub: str) -> Response:
        query = request.query["q"].lower()
        matches = [p for p in self.posts if p["subreddit"] == sub
                   and query in (p["title"] + " " + p["selftext"]).lower()]
        return self._listing(request, matches)

    def post_comments(self, request: Request, post_id: str) -> Response:
        found = [p for p in self.posts if p["id"] == post_id]
        if not found:
            return Response(404, {"message": "Not Found", "error": 404})
        children = [{"kind": "t1", "data": c} for c in self.comments.get(post_id, [])]
        return Response(200, [
            {"kind": "Listing", "data": {"after": None, "children": [{"kind": "t3", "data": found[0]}]}},
            {"kind": "Listing", "data": {"after": None, "children": children}},
        ])
