"""The shared HTTP client: retries, Retry-After cap, clear errors without secrets, redaction."""

from __future__ import annotations

import time

import pytest

from voxlens.collectors.http import HttpClient
from tests.fakes.server import FakeServer, Response
from voxlens.core.errors import SourceError
from voxlens.core.privacy import redact_text


@pytest.fixture
def server():
    with FakeServer(timeout_sleep=1.0) as fake:
        fake.route("GET", r"/ok", lambda request: Response(200, {"ok": True}))
        yield fake


def test_a_long_retry_after_is_capped_at_max_wait(server):
    server.fail("/ok", 429, times=1, retry_after="3600")
    started = time.monotonic()
    assert HttpClient(server.url, backoff=0, max_wait=0.2).get_json("/ok") == {"ok": True}
    assert time.monotonic() - started < 5
    assert len(server.requests) == 2


def test_errors_name_the_url_but_not_the_query_string(server):
    server.fail("/ok", 503, times=-1)
    with pytest.raises(SourceError, match=r"GET http://127\.0\.0\.1:\d+/ok kept failing after 2 retries") as error:
        HttpClient(server.url, retries=2, backoff=0).get_json("/ok", params={"token": "s3cret"})
    assert "s3cret" not in str(error.value)
    assert len(server.requests) == 3


def test_a_timeout_is_retried_then_reported(server):
    server.fail("/ok", "timeout", times=-1)
    with pytest.raises(SourceError, match="timed out"):
        HttpClient(server.url, retries=1, backoff=0, timeout=0.2).get("/ok")
    assert len(server.requests) == 2


def test_a_refused_request_says_to_check_credentials(server):
    server.fail("/ok", 401, times=1)
    with pytest.raises(SourceError, match="refused \\(401\\): check the credentials"):
        HttpClient(server.url, backoff=0).get("/ok")


@pytest.mark.parametrize("text, expected", [
    ("Mail jan.kowalski@example.pl or call +48 512 345 678", "Mail [email] or call [phone]"),
    ("Call 555-123-4567 about order 5.2 from 2026-09-17", "Call [phone] about order 5.2 from 2026-09-17"),
    ("Version 5.2.1 crashed at 10:45", "Version 5.2.1 crashed at 10:45"),
])
def test_redact_text_replaces_contacts_and_keeps_versions_and_dates(text, expected):
    assert redact_text(text) == expected
