"""Reddit submissions (and optionally their comments) through praw.

Credentials come the way praw users expect: a ``praw.ini`` site (``site``) or the ``praw_client_id``,
``praw_client_secret`` (and for script apps ``praw_username``/``praw_password``) environment variables.
praw's own ``reddit_url``/``oauth_url`` settings are honoured, so a praw.ini can point it elsewhere.
Requests go through voxlens's retrying session; praw's rate limiter reads Reddit's rate-limit headers.

The cursor is the newest ``created_utc`` stored: the next run reads the listing (newest first) until it
reaches it. A run that fails part-way keeps what it stored and the next run reads down to the old cursor
again, so nothing is lost and nothing is duplicated. Comments keep arriving after a submission was read:
with ``revisit_days`` the comments of submissions up to that many days older than the cursor are read
again, and those already stored count as duplicates.

Example:
    >>> source = RedditSource("parcelo", query="payment", comments=True, limit=200)
    >>> source.channel
    'r/parcelo?q=payment'
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterator

from voxlens.collectors.base import Checkpoint, RowError
from voxlens.collectors.files import RawRecord
from voxlens.collectors.http import USER_AGENT, retrying_session
from voxlens.collectors.reviews import item_row
from voxlens.collectors.source import Source
from voxlens.core.errors import ConfigError, SourceError

REMOVED = {"[deleted]", "[removed]"}
PRAW_SETTINGS = ("client_id", "client_secret", "username", "password", "user_agent", "reddit_url",
                 "oauth_url", "short_url")


class RedditSource(Source):
    """Submissions of one subreddit: the newest ones, or those matching ``query`` (newest first).

    Args:
        subreddit: the subreddit name, without ``r/``.
        query: a Reddit search query; None reads the ``new`` listing.
        comments: also store each new submission's comments.
        revisit_days: with ``comments``, also re-read the comments of submissions created up to this many
            days before the previous run's newest one (late comments); 0 reads new submissions only.
        limit: most submissions read per run.
        site: the praw.ini site to read settings from.
        praw_settings: explicit praw settings (``client_id``, ``reddit_url``...), over praw.ini and env.
        redact: replace e-mail addresses and phone numbers in text.
        retries, backoff: network retry policy (see :class:`voxlens.collectors.http.HttpClient`).
    """

    collector = "reddit"

    def __init__(self, subreddit: str, *, query: str | None = None, comments: bool = False,
                 revisit_days: float = 0.0, limit: int = 100, site: str = "DEFAULT",
                 praw_settings: dict[str, Any] | None = None, redact: bool = False, retries: int = 5,
                 backoff: float = 1.0) -> None:
        self.subreddit = subreddit.removeprefix("r/")
        self.query = query
        self.comments = comments
        self.revisit_days = revisit_days
        self.limit = limit
        self.site = site
        self.praw_settings = dict(praw_settings or {})
        self.redact = redact
        self.retries = retries
        self.backoff = backoff

    @property
    def channel(self) -> str:
        return f"r/{self.subreddit}" + (f"?q={self.query}" if self.query else "")

    def client(self) -> Any:
        """A ``praw.Reddit`` for read-only access, using praw.ini/env settings plus ``praw_settings``."""
        import praw
        from praw.config import Config
        from praw.exceptions import MissingRequiredAttributeException

        unknown = set(self.praw_settings) - set(PRAW_SETTINGS)
        if unknown:
            raise ConfigError(f"unknown praw setting(s) {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(PRAW_SETTINGS)}")
        settings = {k: v for k, v in self.praw_settings.items() if v is not None}
        if "user_agent" not in settings and not Config(self.site).user_agent:
            settings["user_agent"] = USER_AGENT
        session = retrying_session(self.retries, self.backoff)
        try:
            return praw.Reddit(self.site, check_for_async=False, check_for_updates=False,
                               requestor_kwargs={"session": session}, **settings)
        except MissingRequiredAttributeException as exc:
            raise ConfigError(
                f"Reddit credentials are missing ({exc}); set praw_client_id and praw_client_secret in "
                f"the environment or a [{self.site}] site in praw.ini"
            ) from None

    def records(self, cursor: str | None) -> Iterator[RawRecord | Checkpoint]:
        import prawcore

        since = float(cursor) if cursor else 0.0
        if self.revisit_days < 0:
            raise ConfigError(f"revisit_days must be 0 or more, not {self.revisit_days}")
        revisit_from = since - self.revisit_days * 86_400 if since and self.comments else since
        newest = since
        reddit = self.client()
        subreddit = reddit.subreddit(self.subreddit)
        listing = (subreddit.search(self.query, sort="new", time_filter="all", limit=self.limit)
                   if self.query else subreddit.new(limit=self.limit))
        read, reached = 0, False
        try:
            for submission in listing:
                if submission.created_utc <= revisit_from:
                    reached = True
                    break
                if submission.created_utc <= since:  # stored by an earlier run: only its late comments
                    reached = True
                    yield from _comment_records(submission)
                    continue
                read += 1
                newest = max(newest, submission.created_utc)
                data = _submission_data(submission)
                yield RawRecord(f"reddit:{submission.permalink}", data, data)
                if self.comments:
                    yield from _comment_records(submission)
        except prawcore.exceptions.PrawcoreException as exc:
            raise SourceError(f"Reddit {self.channel}: {exc}") from None
        if since and not reached and read >= self.limit:
            self.note(f"the limit of {self.limit} submissions was read before reaching the previous run's "
                              "newest; submissions in between were not collected (raise limit)")
        yield Checkpoint(repr(newest))

    def normalise(self, record: RawRecord, salt: str) -> list[dict[str, Any]]:
        data = record.data or {}
        if data["body"] in REMOVED:
            raise RowError(f"{data['kind']} {data['name']} was {data['body'].strip('[]')} on Reddit")
        title = self.optional_text(data.get("title"))
        text = self.optional_text(data["body"]) or title
        if text is None:
            raise RowError(f"{data['kind']} {data['name']} has no text")
        meta = {k: data[k] for k in ("kind", "score", "num_comments", "parent", "flair", "edited")
                if data.get(k) is not None}
        return [item_row(
            source="reddit", external_id=data["name"], text=text, salt=salt, channel=f"r/{self.subreddit}",
            created_at=data["created_at"], author=data.get("author"), title=title,
            url=data.get("permalink"), meta=json.dumps(meta),
        )]


def _comment_records(submission: Any) -> Iterator[RawRecord]:
    submission.comments.replace_more(limit=0)
    for comment in submission.comments.list():
        data = _comment_data(comment, submission)
        yield RawRecord(f"reddit:{comment.permalink}", data, data)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None)


def _author(thing: Any) -> str | None:
    author = getattr(thing, "author", None)
    return None if author is None else str(author)


def _submission_data(submission: Any) -> dict[str, Any]:
    return {
        "kind": "submission", "name": submission.name, "title": submission.title,
        "body": submission.selftext or "", "author": _author(submission),
        "created_at": _utc(submission.created_utc), "permalink": "https://www.reddit.com" + submission.permalink,
        "score": submission.score, "num_comments": submission.num_comments,
        "flair": submission.link_flair_text, "edited": bool(submission.edited),
    }


def _comment_data(comment: Any, submission: Any) -> dict[str, Any]:
    return {
        "kind": "comment", "name": comment.name, "title": None, "body": comment.body or "",
        "author": _author(comment), "created_at": _utc(comment.created_utc),
        "permalink": "https://www.reddit.com" + comment.permalink, "score": comment.score,
        "parent": comment.parent_id, "submission": submission.name, "edited": bool(comment.edited),
    }
