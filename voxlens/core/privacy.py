"""Personal data and secrets: redact contact details, erase a person, keep credentials out of output.

Example:
    >>> redact_text("Mail jan.kowalski@example.pl or call +48 512 345 678 about order 5.2")
    'Mail [email] or call [phone] about order 5.2'
    >>> safe_url("javascript:alert(1)") is None
    True
"""

from __future__ import annotations

import os
import re
from typing import Any, Mapping

from voxlens.core.errors import InputError
from voxlens.core.ids import hash_author

EMAIL = re.compile(r"(?<![\w.+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
# Digit groups separated by space, dot or dash, with an optional +CC / 00CC prefix and (area) code.
PHONE = re.compile(
    r"(?<![\w+])(?P<prefix>(?:\+|00)\d{1,3}[ \u00a0.-]?)?(?P<area>\(\d{1,4}\)[ \u00a0.-]?)?"
    r"\d{1,4}(?:[ \u00a0.-]?\d{1,4}){1,6}(?![\w])"
)
DATE_LIKE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}")
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSW|API_?KEY|CLIENT_ID|CREDENTIAL|PRIVATE_KEY", re.I)
MASK = "***"
_registered: set[str] = set()


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    prefixed = bool(match.group("prefix") or match.group("area"))
    if DATE_LIKE.search(text) or not (9 if not prefixed else 7) <= digits <= 15:
        return text
    return "[phone]"


def redact_text(text: str) -> str:
    """Replace e-mail addresses with ``[email]`` and phone numbers with ``[phone]``.

    A phone number is 9–15 digits (7–15 with a ``+48``/``0048`` or ``(22)`` prefix), in groups
    separated by spaces, dots or dashes: Polish (``512 345 678``, ``(22) 123 45 67``) and
    international (``+44 20 7946 0958``, ``+1 (555) 123-4567``) formats. Dates are left alone. The
    rule errs toward privacy: any other number of 9+ digits (an order number) is redacted too.
    """
    if not text:
        return text
    return PHONE.sub(_phone, EMAIL.sub("[email]", text))


def register_secret(value: str | None) -> None:
    """Mask ``value`` in every message :func:`mask_secrets` cleans (for secrets read from config files)."""
    if value and len(value) >= 4:
        _registered.add(value)


def secret_values(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of environment variables named like credentials, plus registered secrets."""
    environ = os.environ if environ is None else environ
    found = {v for k, v in environ.items() if SECRET_NAME.search(k) and v and len(v) >= 6}
    return found | _registered


def mask_secrets(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every credential value replaced by ``***`` (for logs, errors and the runs table).

    Example:
        >>> mask_secrets("401 for token abc123xyz", {"ZENDESK_TOKEN": "abc123xyz"})
        '401 for token ***'
    """
    for value in sorted(secret_values(environ), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def safe_url(url: Any) -> str | None:
    """The URL if it is a plain http(s) link, else None (no ``javascript:``, ``data:`` or odd bytes)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")) or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    return url


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet will not run as a formula (a ``'`` before ``= + - @``).

    Example:
        >>> spreadsheet_safe("=1+1")
        "'=1+1"
    """
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def forget(store: Any, author: str) -> dict[str, int]:
    """Erase everything stored about one person (right to erasure); returns rows deleted per table.

    ``author`` is the name or customer id as it appeared in the source. It is hashed with the store's
    salt to find the person's items (``author``) and survey responses (``customer_id``); their scores,
    topic assignments, linked items and evidence references go too, and so do quarantined rows whose raw
    content holds the name as a whole word. Cached predictions keyed by the hash of the person's texts are
    dropped unless another remaining item has the same text.

    Example:
        >>> from voxlens.core.store import Store
        >>> with Store(":memory:") as store:
        ...     forget(store, "anna")["items"]
        0
    """
    hashed = hash_author(author, store.author_salt)
    if hashed is None:
        raise InputError("give the person's name or customer id as it appears in the imported data")
    deleted: dict[str, int] = {}
    with store.transaction():
        responses = [r[0] for r in store.execute("SELECT response_id FROM responses WHERE customer_id = ?", [hashed])]
        items = [r[0] for r in store.execute(
            "SELECT item_id FROM items WHERE author = ? OR list_contains(?, response_id)", [hashed, responses])]
        hashes = [r[0] for r in store.execute(
            "SELECT DISTINCT md5(text) FROM items WHERE list_contains(?, item_id)", [items])]
        for table in ("scores", "topics", "items"):
            deleted[table] = _count(store.execute(f"DELETE FROM {table} WHERE list_contains(?, item_id)", [items]))
        deleted["score_cache"] = _forget_cached_scores(store, hashes)
        deleted["responses"] = _count(store.execute(
            "DELETE FROM responses WHERE list_contains(?, response_id)", [responses]))
        gone = set(items)
        cited = store.execute("SELECT issue_id, evidence FROM issues WHERE len(list_intersect(evidence, ?)) > 0", [items])
        for issue_id, evidence in cited:
            store.execute("UPDATE issues SET evidence = ? WHERE issue_id = ?",
                          [[e for e in evidence if e not in gone], issue_id])
        deleted["issue_evidence"] = len(cited)
        pattern = r"(^|[^\w])" + re.escape(str(author).strip()) + r"($|[^\w])"
        deleted["quarantine"] = _count(store.execute(
            "DELETE FROM quarantine WHERE regexp_matches(raw, ?)", [pattern]))
        store.execute("UPDATE topic_info SET size = (SELECT count(*) FROM topics t "
                      "WHERE t.topic_id = topic_info.topic_id)")
    store.execute("CHECKPOINT")  # fold the deletion into the database file now, not only the log
    return deleted


def _forget_cached_scores(store: Any, hashes: list[str]) -> int:
    """Drop cached predictions for these text hashes that no remaining item still has."""
    if not hashes or not store.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'score_cache'")[0][0]:
        return 0
    return _count(store.execute(
        "DELETE FROM score_cache WHERE list_contains(?, text_hash) "
        "AND text_hash NOT IN (SELECT md5(text) FROM items)", [hashes]))


def _count(rows: list[tuple[Any, ...]]) -> int:
    return int(rows[0][0]) if rows and rows[0] and rows[0][0] is not None else 0
