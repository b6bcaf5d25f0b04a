"""The network side every remote collector shares: retries with backoff, rate limits, base URLs.

One :class:`HttpClient` per source. Transient faults (connection errors, timeouts, 429, 5xx) are
retried with exponential backoff; a ``Retry-After`` header is honoured (capped at ``max_wait``). An
answer that still fails, or is not the JSON promised, raises :class:`voxlens.core.errors.SourceError`
naming the URL (never credentials).

Example:
    >>> client = HttpClient("https://itunes.apple.com", retries=3, backoff=0.5)
    >>> client.url("us/rss/customerreviews/page=1/id=1/sortby=mostrecent/json")
    'https://itunes.apple.com/us/rss/customerreviews/page=1/id=1/sortby=mostrecent/json'
"""

from __future__ import annotations

import json
import time
from typing import Any, Mapping

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from voxlens.core.errors import SourceError

RETRY_STATUSES = (429, 500, 502, 503, 504)
USER_AGENT = "voxlens-collector/0.1 (+https://pypi.org/project/voxlens/)"


class _CappedRetry(Retry):
    """urllib3's retry policy, with a server's ``Retry-After`` capped at ``backoff_max`` seconds."""

    def get_retry_after(self, response: Any) -> float | None:
        wait = super().get_retry_after(response)
        return None if wait is None else min(wait, self.backoff_max)


def retrying_session(retries: int = 5, backoff: float = 1.0, max_wait: float = 60.0,
                     user_agent: str = USER_AGENT) -> requests.Session:
    """A ``requests.Session`` that retries transient faults; also handed to praw as its session."""
    policy = _CappedRetry(
        total=retries, connect=retries, read=retries, status=retries, other=0,
        backoff_factor=backoff, backoff_max=max_wait, status_forcelist=RETRY_STATUSES,
        allowed_methods=None, respect_retry_after_header=True, raise_on_status=True,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session


class HttpClient:
    """GET/POST against one base URL with retries.

    Args:
        base_url: scheme and host (and optional path prefix); tests point it at a local fake server.
        retries: attempts after the first one for each transient fault.
        backoff: backoff factor in seconds (waits ``backoff * 2 ** (n - 1)``); 0 in tests.
        max_wait: longest single wait, also the cap on ``Retry-After``.
        timeout: seconds to wait for a connection or for data.
        auth: a ``requests`` auth object or ``(user, password)`` tuple.
    """

    def __init__(self, base_url: str, *, retries: int = 5, backoff: float = 1.0, max_wait: float = 60.0,
                 timeout: float = 30.0, auth: Any = None, headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.timeout = timeout
        self.auth = auth
        self.headers = dict(headers or {})
        self._session: requests.Session | None = None

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = retrying_session(self.retries, self.backoff, self.max_wait)
            self._session.headers.update(self.headers)
            self._session.auth = self.auth
        return self._session

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request; raise :class:`SourceError` once retries are spent or on a 4xx answer."""
        url = self.url(path)
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.exceptions.RetryError as exc:
            raise SourceError(f"{method} {_public(url)} kept failing after {self.retries} retries "
                              f"({_reason(exc)}); the next run resumes from the last checkpoint") from None
        except requests.exceptions.RequestException as exc:
            raise SourceError(f"{method} {_public(url)} failed after {self.retries} retries: "
                              f"{_reason(exc)}; check the network or the base URL") from None
        if response.status_code in (401, 403):
            raise SourceError(f"{method} {_public(url)} was refused ({response.status_code}): "
                              "check the credentials in the environment")
        if response.status_code >= 400 and response.status_code != 304:
            raise SourceError(f"{method} {_public(url)} answered {response.status_code}: "
                              f"{response.text[:200]!r}")
        return response

    def get(self, path: str, params: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None) -> requests.Response:
        return self.request("GET", path, params=params, headers=headers)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode JSON; a malformed answer is fetched again (with backoff) before giving up."""
        for attempt in range(self.retries + 1):
            response = self.get(path, params)
            try:
                return response.json()
            except (json.JSONDecodeError, ValueError):
                if attempt == self.retries:
                    raise SourceError(
                        f"GET {_public(response.url)} returned malformed JSON {response.text[:80]!r} "
                        f"{self.retries + 1} times; the next run resumes from the last checkpoint"
                    ) from None
                time.sleep(min(self.backoff * 2 ** attempt, self.max_wait))
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def _public(url: str) -> str:
    """The URL without its query string (which can carry tokens)."""
    return url.split("?", 1)[0]


def _reason(exc: BaseException) -> str:
    inner = exc.args[0] if exc.args else exc
    reason = getattr(inner, "reason", inner)
    return str(reason)[:200] or type(reason).__name__
